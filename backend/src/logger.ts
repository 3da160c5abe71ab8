import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs on stdout (what Kubernetes collects); one logger per process.
 * `base` (the pod's name) is on every line already, so a call that names one
 * of its keys again (`{ pod, ... }`, written for loggers that lack it) has
 * that key dropped: pino would print it twice, `{"pod":"a",...,"pod":"a"}`,
 * which JSON parsers read as last-wins and strict log pipelines reject.
 */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  const baseKeys = Object.keys(base);
  return pino({
    level,
    base: { ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      log(object) {
        if (!baseKeys.some((key) => key in object)) return object;
        return Object.fromEntries(Object.entries(object).filter(([key]) => !baseKeys.includes(key)));
      },
    },
  });
}
