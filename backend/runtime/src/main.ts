#!/usr/bin/env node
/**
 * imgfleet-runtime: the function runtime as a process, a drop-in for the
 * course image lucasmsp/serverless:redis. Configuration comes from the
 * environment (see config.ts); logs are JSON lines on stdout (pino).
 * Exit codes: 0 after SIGTERM/SIGINT, 1 on bad configuration (REDIS_INPUT_KEY
 * unset, a bad value), a missing function file or a taken HEALTH_PORT.
 */
import pino from 'pino';
import { RuntimeConfigError, loadRuntimeConfig } from './config.js';
import { FunctionError, errorMessage } from './errors.js';
import { startRuntime } from './runtime.js';

const logger = pino({ name: 'imgfleet-runtime', level: process.env.LOG_LEVEL ?? 'info' });

async function main(): Promise<void> {
  let config;
  try {
    config = loadRuntimeConfig(process.env);
  } catch (err) {
    if (err instanceof RuntimeConfigError) {
      // Plain stderr, not a log line: this is what a person reads in `kubectl logs`.
      process.stderr.write(`imgfleet-runtime: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }

  const runtime = await startRuntime(config, logger);
  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal; exiting at once');
      process.exit(1);
    }
    logger.info({ signal }, 'stopping');
    runtime.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  // The one-line reason for a person; the stack in the log for anything unexpected.
  process.stderr.write(`imgfleet-runtime: ${errorMessage(err)}\n`);
  if (!(err instanceof FunctionError)) logger.fatal({ err }, 'function runtime could not start');
  process.exit(1);
});
