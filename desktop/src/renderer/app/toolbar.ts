/**
 * The toolbar's buttons: each runs a command (as the menu and the shortcuts
 * do), and is enabled when that command can do something now.
 */
import type { MenuCommand } from '../platform/platform.js';
import { byId } from '../ui/dom.js';

/** Each button's command; "Metrics" opens a window and is no command. */
const COMMANDS = {
  'add-files': 'open-files',
  'add-folder': 'open-folder',
  upload: 'upload',
  cancel: 'cancel',
  'retry-failed': 'retry-failed',
  'download-all': 'download-all',
  'choose-folder': 'choose-folder',
  'open-folder': 'open-output-folder',
  'resize-locally': 'resize-locally',
  clear: 'clear',
  'open-settings': 'settings',
} as const satisfies Record<string, MenuCommand>;

/** The buttons whose state follows the batch (the others are always enabled). */
export type ToolbarEnabled = Record<'upload' | 'cancel' | 'retry-failed' | 'download-all' | 'resize-locally' | 'open-folder' | 'clear', boolean>;

export class Toolbar {
  private readonly buttons = new Map<string, HTMLButtonElement>();

  constructor(run: (command: MenuCommand) => void, openMetrics: () => void) {
    for (const [id, command] of Object.entries(COMMANDS)) {
      const button = byId<HTMLButtonElement>(id);
      button.addEventListener('click', () => run(command));
      this.buttons.set(id, button);
    }
    byId<HTMLButtonElement>('open-metrics').addEventListener('click', openMetrics);
  }

  update(enabled: ToolbarEnabled): void {
    for (const [id, on] of Object.entries(enabled)) {
      const button = this.buttons.get(id);
      if (button) button.disabled = !on;
    }
  }
}
