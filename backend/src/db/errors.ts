/**
 * What a PostgreSQL failure means for the caller: the database is out of
 * reach for now (retry, answer 503), it is out of disk (answer 507, retry
 * later), or something else (a bug: answer 500).
 */

export type DatabaseFault = 'unavailable' | 'storage-full' | 'other';

const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'connection error',
  'timeout exceeded when trying to connect',
  'Client was closed and is not queryable',
  'Client has encountered a connection error',
  'the database system is',
  'terminating connection',
];

export function classifyDatabaseError(err: unknown): DatabaseFault {
  if (!err || typeof err !== 'object') return 'other';
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    // 53100 disk_full; 53400 is a configured limit, not space.
    if (code === '53100') return 'storage-full';
    // Class 08 (connection exception), 57P01–57P05 (shutdown, crash, cannot connect now, idle timeouts).
    if (code.startsWith('08') || /^57P0[1-5]$/.test(code)) return 'unavailable';
    if (UNAVAILABLE_NODE_CODES.has(code)) return 'unavailable';
  }
  const message = err instanceof Error ? err.message : '';
  if (/No space left on device|could not extend file/i.test(message)) return 'storage-full';
  if (UNAVAILABLE_MESSAGES.some((m) => message.includes(m))) return 'unavailable';
  return 'other';
}

/** Worth retrying the same statement a little later. */
export function isTransientDatabaseError(err: unknown): boolean {
  return classifyDatabaseError(err) !== 'other';
}
