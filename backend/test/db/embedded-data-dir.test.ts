/**
 * The embedded database's default folder when HOME cannot hold it: a service
 * user whose HOME is /nonexistent (the container image's user) used to die on
 * `mkdir '/nonexistent'`; it gets a folder below the temporary folder instead.
 * Run as an unprivileged user for real (setpriv, as root) or with a read-only HOME.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const EMBEDDED_JS = path.resolve(here, '../../src/db/embedded.js');
const ENV_JS = path.resolve(here, '../../src/config/env.js');
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Prints {dataDir, canCreate, uid} from a node started as an unprivileged user with `home` as HOME. */
function probe(home: string): { dataDir: string; canCreate: boolean; uid: number; tmp: string } {
  const script = `
    const { loadEnv } = await import(${JSON.stringify(ENV_JS)});
    const { effectiveDataDir, canCreateOrWrite } = await import(${JSON.stringify(EMBEDDED_JS)});
    const env = loadEnv(process.env);
    console.log(JSON.stringify({ dataDir: effectiveDataDir(env.DATA_DIR, false), canCreate: canCreateOrWrite(env.DATA_DIR), uid: process.getuid(), tmp: (await import('node:os')).tmpdir() }));`;
  const node = ['--input-type=module', '-e', script];
  const env = { PATH: process.env.PATH, HOME: home };
  const out = asRoot
    ? execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...node], { env, encoding: 'utf8' })
    : execFileSync(process.execPath, node, { env, encoding: 'utf8' });
  return JSON.parse(out.trim()) as { dataDir: string; canCreate: boolean; uid: number; tmp: string };
}

describe('embedded PostgreSQL: the default data folder', () => {
  const made: string[] = [];
  after(() => {
    for (const dir of made) {
      chmodSync(dir, 0o755);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('falls back to a per-user folder below the temporary folder when HOME does not exist', () => {
    const r = probe('/nonexistent');
    assert.equal(r.canCreate, false);
    assert.equal(r.dataDir, path.join(r.tmp, `imgfleet-${r.uid}`));
  });

  it('falls back the same way when HOME exists but is read-only', () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'imgfleet-ro-home-'));
    made.push(home);
    chmodSync(home, 0o555);
    const r = probe(home);
    assert.equal(r.canCreate, false);
    assert.equal(r.dataDir, path.join(r.tmp, `imgfleet-${r.uid}`));
  });

  it('keeps the folder under a writable HOME', () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'imgfleet-home-'));
    made.push(home);
    chmodSync(home, 0o777);
    const r = probe(home);
    assert.equal(r.canCreate, true);
    assert.equal(r.dataDir, path.join(home, '.local', 'share', 'imgfleet'));
  });
});
