/** Records every status notification straight from Postgres, independent of any backend. */
import pg from 'pg';
import type { StatusEvent } from '../../src/contract/api.js';

export interface StatusLog {
  events: StatusEvent[];
  completions(id: number): number;
  /** Resolves, on the events themselves, once every one of `ids` was last seen completed or failed: their last events, in `ids`' order. */
  settled(ids: readonly number[]): Promise<StatusEvent[]>;
  close(): Promise<void>;
}

const FINAL = new Set(['completed', 'failed']);

export async function listenToStatuses(databaseUrl: string): Promise<StatusLog> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const events: StatusEvent[] = [];
  const latest = new Map<number, StatusEvent>();
  const waiters = new Set<() => void>();
  client.on('notification', (msg) => {
    if (!msg.payload) return;
    const event = JSON.parse(msg.payload) as StatusEvent;
    events.push(event);
    latest.set(event.id, event);
    for (const w of waiters) w();
  });
  await client.query('LISTEN imgfleet_status');
  return {
    events,
    completions: (id) => events.filter((e) => e.id === id && e.status === 'completed').length,
    settled: (ids) =>
      new Promise<StatusEvent[]>((resolve) => {
        const check = () => {
          if (!ids.every((id) => FINAL.has(latest.get(id)?.status ?? ''))) return;
          waiters.delete(check);
          resolve(ids.map((id) => latest.get(id)!));
        };
        waiters.add(check);
        check();
      }),
    close: () => client.end(),
  };
}
