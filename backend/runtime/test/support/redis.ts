/** The machine's real Redis for tests, with a unique key prefix per test file. */
import { randomBytes } from 'node:crypto';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A prefix no other test run uses, so parallel test files never see each other's keys. */
export function uniquePrefix(label = 't'): string {
  return `imgfleet-test:${label}:${process.pid}:${randomBytes(3).toString('hex')}`;
}
