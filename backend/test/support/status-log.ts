/** Records every status notification straight from Postgres, independent of any backend. */
import pg from 'pg';
import type { StatusEvent } from '../../src/contract/api.js';

export interface StatusLog {
  events: StatusEvent[];
  completions(id: number): number;
  close(): Promise<void>;
}

export async function listenToStatuses(databaseUrl: string): Promise<StatusLog> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const events: StatusEvent[] = [];
  client.on('notification', (msg) => {
    if (msg.payload) events.push(JSON.parse(msg.payload) as StatusEvent);
  });
  await client.query('LISTEN imgfleet_status');
  return {
    events,
    completions: (id) => events.filter((e) => e.id === id && e.status === 'completed').length,
    close: () => client.end(),
  };
}
