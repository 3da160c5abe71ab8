/**
 * Live image status changes for one batch (GET /api/v1/events?batchId=),
 * from whichever backend pod processed the image, and the ids of images
 * deleted on the server (any batch's: the window keeps the ones it holds).
 */
import type { DeletedEvent, StatusEvent } from '@imgfleet/backend/contract';
import type { ConnectionState } from '../../shared/models.js';
import type { ApiClient } from './api-client.js';
import { LiveStream } from './live-stream.js';

export interface EventsClientOptions {
  client: () => ApiClient;
  batchId: string;
  onStatus: (event: StatusEvent) => void;
  onDeleted: (event: DeletedEvent) => void;
  onState: (state: ConnectionState) => void;
  minDelayMs?: number;
  maxDelayMs?: number;
}

export function createEventsClient(options: EventsClientOptions): LiveStream {
  return new LiveStream({
    url: () => options.client().url(`/api/v1/events?batchId=${encodeURIComponent(options.batchId)}`),
    label: () => options.client().baseUrl,
    headers: () => options.client().authHeaders(),
    events: ['status', 'deleted'],
    onEvent: (type, data) => {
      if (type === 'status' && isStatusEvent(data)) options.onStatus(data);
      if (type === 'deleted' && isDeletedEvent(data)) options.onDeleted(data);
    },
    onState: options.onState,
    minDelayMs: options.minDelayMs,
    maxDelayMs: options.maxDelayMs,
  });
}

function isDeletedEvent(data: unknown): data is DeletedEvent {
  if (typeof data !== 'object' || data === null) return false;
  const e = data as Partial<DeletedEvent>;
  return (e.id === null || typeof e.id === 'number') && typeof e.at === 'string';
}

function isStatusEvent(data: unknown): data is StatusEvent {
  if (typeof data !== 'object' || data === null) return false;
  const e = data as Partial<StatusEvent>;
  return typeof e.id === 'number' && typeof e.status === 'string' && typeof e.batchId === 'string';
}
