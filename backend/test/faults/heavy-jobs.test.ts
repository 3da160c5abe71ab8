/**
 * The heaviest jobs the apps offer, on the defaults (4 threads, the default
 * time limits), in a real 1 GiB memory cgroup as the backend's pod has in
 * `k8s/` (issue 18, items 1 and 2): every one completes, none is taken for
 * stuck work, the process stays under the limit, also with another process
 * eating every core beside it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import type { ServerConfig, StatusEvent, UploadResponse } from '../../src/contract/api.js';
import { baseEnv, getJson, spawnBackend, type BackendProcess } from '../support/backend.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { makeImage } from '../support/images.js';
import { createMemoryCgroup, type MemoryCgroup } from '../support/memory-cgroup.js';
import { listenToStatuses, type StatusLog } from '../support/status-log.js';

const MiB = 1024 * 1024;
const POD_LIMIT = 1024 * MiB;

function peakRssMiB(pid: number): number {
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return kb / 1024;
}

/** One busy process per core: "another process eating CPU beside them". */
function cpuHogs(): ChildProcess[] {
  return Array.from({ length: os.availableParallelism() }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

describe('heavy jobs inside a pod’s budgets', () => {
  let db: TestDatabase;
  let cgroup: MemoryCgroup;
  let backend: BackendProcess;
  let photo: Buffer;
  let log: StatusLog;

  before(async () => {
    db = await createTestDatabase();
    log = await listenToStatuses(db.url);
    cgroup = createMemoryCgroup(POD_LIMIT, 'imgfleet-heavy');
    // The defaults, as deployed: 4 threads, default time limits and budget.
    backend = await spawnBackend(baseEnv(db.url, { POD_NAME: 'heavy' }), 60_000, { cgroupProcs: cgroup.procs });
    // The photo: 6028x3391, ~6 MB.
    photo = await makeImage({ width: 6028, height: 3391, grain: 12, quality: 92 });
  });

  after(async () => {
    backend?.child.kill('SIGKILL');
    await backend?.exit;
    cgroup?.remove();
    await log?.close();
    await db?.drop();
  });

  async function batch(options: Record<string, unknown>, count: number): Promise<StatusEvent[]> {
    const form = new FormData();
    form.append('options', JSON.stringify(options));
    for (let i = 0; i < count; i++) form.append('images', new Blob([photo], { type: 'image/jpeg' }), `heavy-${i}.jpg`);
    const res = await fetch(new URL('/api/v1/images', backend.url), { method: 'POST', body: form });
    assert.equal(res.status, 202, await res.clone().text());
    const ids = ((await res.json()) as UploadResponse).images.map((i) => i.id);
    // A backend the kernel killed for memory never finishes them: fail at once, saying so.
    const died = backend.exit.then(({ code, signal }) => {
      throw new Error(`the backend died (${signal ?? code}; processes the kernel killed for memory in its cgroup: ${cgroup.ooms()})`);
    });
    return Promise.race([log.settled(ids), died]);
  }

  function assertUnderLimit(): void {
    const peak = peakRssMiB(backend.child.pid!);
    assert.equal(backend.child.exitCode, null, `the backend is alive:\n${backend.output().slice(-2000)}`);
    assert.ok(peak < POD_LIMIT / MiB, `peak RSS ${peak.toFixed(0)} MiB, under the pod's ${POD_LIMIT / MiB} MiB`);
  }

  it('sizes its job budget from the memory limit of its cgroup', async () => {
    const { body } = await getJson<ServerConfig>(new URL('/api/v1/config', backend.url).href);
    assert.ok(body.limits.jobMemoryBytes > 256 * MiB && body.limits.jobMemoryBytes < POD_LIMIT - 256 * MiB, `${body.limits.jobMemoryBytes / MiB} MiB`);
    const small = createMemoryCgroup(768 * MiB, 'imgfleet-small');
    const other = await spawnBackend(baseEnv(db.url, { POD_NAME: 'small' }), 60_000, { cgroupProcs: small.procs });
    try {
      const { body: smaller } = await getJson<ServerConfig>(new URL('/api/v1/config', other.url).href);
      assert.equal(body.limits.jobMemoryBytes - smaller.limits.jobMemoryBytes, 256 * MiB, 'a 256 MiB smaller pod budgets 256 MiB less');
    } finally {
      other.child.kill('SIGKILL');
      await other.exit;
      small.remove();
    }
  });

  it('completes 4 AVIF 3840x2160 from a 6028x3391 photo with another process eating every core', { timeout: 30 * 60_000 }, async () => {
    const hogs = cpuHogs();
    try {
      const rows = await batch({ format: 'avif', width: 3840, height: 2160 }, 4);
      for (const r of rows) assert.deepEqual([r.status, r.errorCode, r.width, r.height], ['completed', null, 3840, 2160], r.error ?? '');
    } finally {
      for (const h of hogs) h.kill('SIGKILL');
    }
    assertUnderLimit();
  });

  it('completes 4 lossless PNG enlarged to fit 8192x8192', { timeout: 30 * 60_000 }, async () => {
    const rows = await batch({ format: 'png', width: 8192, height: 8192, enlarge: true }, 4);
    for (const r of rows) assert.deepEqual([r.status, r.errorCode, r.width, r.height], ['completed', null, 8192, 4608], r.error ?? '');
    assertUnderLimit();
  });

  it('completes every format at 3840x2160 cropped by attention, the slow JPEG encoders included', { timeout: 30 * 60_000 }, async () => {
    const variants = [
      { format: 'jpeg', mozjpeg: true },
      { format: 'jpeg', progressive: true },
      { format: 'webp' },
      { format: 'avif' },
      { format: 'png', quality: 80 },
    ];
    const results = await Promise.all(variants.map((v) => batch({ ...v, width: 3840, height: 2160, fit: 'cover', position: 'attention' }, 1)));
    for (const [i, [r]] of results.entries()) {
      assert.deepEqual([r!.status, r!.width, r!.height], ['completed', 3840, 2160], `${JSON.stringify(variants[i])}: ${r!.error ?? ''}`);
    }
    assertUnderLimit();
    assert.equal(cgroup.ooms(), 0, 'the kernel never had to refuse the pod memory');
  });
});
