/**
 * A real memory cgroup with a limit, for a backend to run in as it would in
 * a Kubernetes pod: the kernel enforces the limit (a process over it is
 * OOM-killed) and the backend reads it to size its job budget. Needs root and
 * a writable cgroup file system (v2 unified or v1's memory controller), as
 * the machines these tests run on have.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

export interface MemoryCgroup {
  dir: string;
  /** The file a process joins the group through (`echo $$ > procs`). */
  procs: string;
  /** Processes the kernel killed for memory in the group (oom_kill), to tell an OOM kill from a crash. */
  ooms(): number;
  remove(): void;
}

function v2Root(): string | undefined {
  for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    const controllers = path.join(root, 'cgroup.controllers');
    if (existsSync(controllers) && readFileSync(controllers, 'utf8').split(/\s+/).includes('memory')) return root;
  }
  return undefined;
}

export function createMemoryCgroup(limitBytes: number, label = 'imgfleet-test'): MemoryCgroup {
  const name = `${label}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const v2 = v2Root();
  if (v2) {
    const dir = path.join(v2, name);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'memory.max'), String(limitBytes));
    writeFileSync(path.join(dir, 'memory.swap.max'), '0');
    return {
      dir,
      procs: path.join(dir, 'cgroup.procs'),
      ooms: () => Number(/oom_kill (\d+)/.exec(readFileSync(path.join(dir, 'memory.events'), 'utf8'))?.[1] ?? 0),
      remove: () => rmdirSync(dir),
    };
  }
  const v1 = '/sys/fs/cgroup/memory';
  if (!existsSync(path.join(v1, 'memory.limit_in_bytes'))) {
    throw new Error('no writable memory cgroup (neither cgroup v2 with the memory controller nor v1 at /sys/fs/cgroup/memory): run the tests as root on Linux');
  }
  const dir = path.join(v1, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(limitBytes));
  return {
    dir,
    procs: path.join(dir, 'cgroup.procs'),
    ooms: () => Number(/oom_kill (\d+)/.exec(readFileSync(path.join(dir, 'memory.oom_control'), 'utf8'))?.[1] ?? 0),
    remove: () => rmdirSync(dir),
  };
}
