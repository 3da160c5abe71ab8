import pg from 'pg';

// BIGSERIAL ids and counts arrive as strings by default; ours fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

const ignore = () => undefined;

export interface PoolOptions {
  /**
   * PostgreSQL ends a session left idle inside a transaction this long
   * (idle_in_transaction_session_timeout): the bound on how long a frozen or
   * cut-off pod can hold what its transaction holds (an upload's
   * Idempotency-Key). Live transactions send a statement more often than this.
   */
  idleInTransactionMs?: number;
  /** Told apart in pg_stat_activity. */
  applicationName?: string;
}

export function createPool(url: string, max: number, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    application_name: options.applicationName ?? 'imgfleet',
    ...(options.idleInTransactionMs ? { idle_in_transaction_session_timeout: Math.round(options.idleInTransactionMs) } : {}),
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
