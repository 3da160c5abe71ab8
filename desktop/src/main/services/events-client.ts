/**
 * Live image status changes for one batch (GET /api/v1/events?batchId=),
 * from whichever backend pod processed the image.
 */
import type { StatusEvent } from '@imgfleet/backend/contract';
import type { ConnectionState } from '../../shared/models.js';
import type { ApiClient } from './api-client.js';
import { LiveStream } from './live-stream.js';

export interface EventsClientOptions {
  client: () => ApiClient;
  batchId: string;
  onStatus: (event: StatusEvent) => void;
  onState: (state: ConnectionState) => void;
  minDelayMs?: number;
  maxDelayMs?: number;
}

export function createEventsClient(options: EventsClientOptions): LiveStream {
  return new LiveStream({
    url: () => options.client().url(`/api/v1/events?batchId=${encodeURIComponent(options.batchId)}`),
    label: () => options.client().baseUrl,
    headers: () => options.client().authHeaders(),
    events: ['status'],
    onEvent: (_type, data) => {
      if (isStatusEvent(data)) options.onStatus(data);
    },
    onState: options.onState,
    minDelayMs: options.minDelayMs,
    maxDelayMs: options.maxDelayMs,
  });
}

function isStatusEvent(data: unknown): data is StatusEvent {
  if (typeof data !== 'object' || data === null) return false;
  const e = data as Partial<StatusEvent>;
  return typeof e.id === 'number' && typeof e.status === 'string' && typeof e.batchId === 'string';
}
