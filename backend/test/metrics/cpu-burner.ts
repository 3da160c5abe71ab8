/**
 * Preloaded into a backend process (`NODE_OPTIONS=--import=<this file>`) by
 * the pod-figures test, to make it the loaded pod: on SIGUSR2 (sent once the
 * backend is up, so the load does not slow its start) two worker threads
 * spin for as long as the process lives. Threads, not child processes, so
 * they can never outlive the backend (even one killed with SIGKILL).
 */
import { Worker } from 'node:worker_threads';

process.once('SIGUSR2', () => {
  // Two threads: on a machine shared with other work the loaded pod must still stand out.
  for (let i = 0; i < 2; i++) {
    const spinner = new Worker('for (;;) { Math.sqrt(Math.random()); }', { eval: true });
    // The backend's own shutdown decides when the process ends, not these threads.
    spinner.unref();
  }
});
