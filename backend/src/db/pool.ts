import pg from 'pg';

// BIGSERIAL ids and counts arrive as strings by default; ours fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

const ignore = () => undefined;

export function createPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    application_name: 'imgfleet',
    // While the database is down, callers get an error they can answer with
    // (503, retry) instead of queueing for a connection for ever.
    connectionTimeoutMillis: 5000,
    keepAlive: true,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', ignore);
  // A checked-out client is not covered by the pool's listener: a restart
  // while it is busy (a COPY, an upload's transaction) emits 'error' on the
  // client itself, which with no listener kills the process. The query in
  // progress still fails, so its caller learns of it.
  pool.on('connect', (client) => client.on('error', ignore));
  return pool;
}

/**
 * Runs `fn` with a client of its own. A client that failed is destroyed
 * rather than returned to the pool: after a connection error it is unusable,
 * and after an aborted COPY its protocol state is unknown.
 */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    const result = await fn(client);
    client.release();
    return result;
  } catch (err) {
    client.release(err instanceof Error ? err : true);
    throw err;
  }
}
