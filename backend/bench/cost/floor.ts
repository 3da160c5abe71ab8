/**
 * The floor server (floor-server.ts) through the same client as the
 * backend's batch: its CPU per photo is what receiving, keeping and
 * resizing a photo costs any server on this machine, without imgfleet's
 * queue, database, checks and threads.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKEND_NODE_FLAGS } from '../../src/node-flags.js';
import { ALLOCATOR_ENV } from '../../test/support/backend.js';
import { cpuSeconds } from '../proc.js';
import { cpuDuring } from './cpu.js';
import { legacyBatch } from './legacy-client.js';

const SERVER_JS = fileURLToPath(new URL('./floor-server.js', import.meta.url));

export interface FloorCost {
  /** CPU seconds per photo of the floor server, all threads. */
  cpuPerPhoto: number;
  /** Photos per second end to end. */
  rate: number;
}

export async function floorCost(files: Buffer[], count: number, inFlight = 8): Promise<FloorCost> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-floor-'));
  // The backend's node flags and allocator settings.
  const child = spawn(process.execPath, [...BACKEND_NODE_FLAGS, SERVER_JS, dir], {
    env: { PATH: process.env.PATH, ...ALLOCATOR_ENV },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [first] = (await Promise.race([
      once(child.stdout, 'data'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`the floor server exited (${String(code)})`);
      }),
    ])) as [Buffer];
    const url = `http://127.0.0.1:${first.toString().trim()}`;
    await legacyBatch([url], files, inFlight, { prefix: 'warm' });
    const pid = child.pid!;
    const m = await cpuDuring({ server: () => cpuSeconds(pid) }, () => legacyBatch([url], files, count, { inFlight }));
    if (m.result.failed) throw new Error(`${m.result.failed} of ${count} photos failed on the floor server`);
    return { cpuPerPhoto: m.cpu.server! / count, rate: count / m.seconds };
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    await rm(dir, { recursive: true, force: true });
  }
}
