import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout (what Kubernetes collects); one logger per process. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { ...base }, timestamp: pino.stdTimeFunctions.isoTime });
}
