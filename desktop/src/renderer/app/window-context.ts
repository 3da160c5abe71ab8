/**
 * What every feature of the main window shares: the host (Platform), the
 * batch's state (BatchStore), the notice, and `refresh` (buttons and the
 * bar around the cards follow the state). Each feature module
 * (file-intake, upload-flow, retry-flow, live-sync, downloads,
 * local-resize, settings-control, connection-control, options-control)
 * gets it and the few other features it needs, nothing more.
 */
import type { Platform } from '../platform/platform.js';
import type { BatchStore } from './batch-store.js';
import type { Notify } from './notice.js';

export interface WindowContext {
  readonly platform: Platform;
  readonly store: BatchStore;
  notice: Notify;
  refresh(): void;
}
