#!/usr/bin/env node
/**
 * `imgfleet-backend`: starts the backend and drains it on SIGTERM/SIGINT
 * (stop claiming, finish in-flight images within the grace period, hand back
 * the rest, exit 0). A second signal, a second or more after the first, exits at once.
 */
import { ConfigError } from './config/env.js';
import { startBackend } from './server.js';

/** Signals closer than this to the first are the same request, forwarded (see shutdown). */
const SAME_SIGNAL_MS = 1000;

async function main(): Promise<void> {
  const backend = await startBackend(process.env);
  process.stdout.write(`\nimgfleet is running at ${backend.url}  (API: ${backend.url}/api/v1, stop with Ctrl+C)\n\n`);
  let firstSignalAt: number | undefined;
  const shutdown = (signal: NodeJS.Signals) => {
    // One Ctrl+C under `npm start` arrives more than once: the terminal signals its whole
    // process group and each npm on the way forwards what it got to its child. Only a
    // signal well after the first (a second press, a second `kill`) means "exit now".
    if (firstSignalAt !== undefined) {
      if (performance.now() - firstSignalAt < SAME_SIGNAL_MS) return;
      backend.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    firstSignalAt = performance.now();
    backend.logger.info({ signal }, 'shutting down gracefully');
    // Whatever hangs (a native decode that will not stop, a stuck socket), the
    // process is gone shortly after the grace period: Kubernetes would SIGKILL it anyway.
    const hardLimitMs = backend.env.SHUTDOWN_GRACE_SECONDS * 1000 + 2500;
    setTimeout(() => {
      backend.logger.error({ hardLimitMs }, 'shutdown did not finish in time; exiting now');
      process.exit(1);
    }, hardLimitMs).unref();
    backend.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        backend.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`imgfleet: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`imgfleet failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
