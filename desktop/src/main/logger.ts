/**
 * The main process's log: pino, as the backend logs, so errors keep their
 * stack through the `err` serializer (`logger.warn({ err }, '…')`), never
 * `String(err)`. JSON lines on stdout; LOG_LEVEL as for the backend.
 */
import { pino } from 'pino';

export const logger = pino({ name: 'imgfleet-desktop', level: process.env.LOG_LEVEL ?? 'info' });
