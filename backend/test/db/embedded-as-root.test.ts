/**
 * As root, the embedded PostgreSQL runs as the `postgres` user, which must be
 * able to enter every folder on the way to the package's programs and to the
 * data folder. A clone under /root (0700) used to die on an unhandled EACCES
 * from spawning initdb; now the backend says which folder and what to do.
 * The suite runs as root (scripts/ensure-test-services.sh installs as root),
 * and so do these tests: setpriv checks the verdicts against the kernel's.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { firstClosedFolder } from '../../src/db/closed-folder.js';
import { MAIN_JS } from '../support/backend.js';

const NOBODY = { uid: 65534, gid: 65534 };

/** Whether `uid` can really list `dir`, asked of the kernel. */
function kernelLetsIn(dir: string, ids: { uid: number; gid: number }): boolean {
  return spawnSync('setpriv', [`--reuid=${ids.uid}`, `--regid=${ids.gid}`, '--clear-groups', 'ls', dir], { stdio: 'ignore' }).status === 0;
}

describe('embedded PostgreSQL as root: folders the postgres user cannot enter', () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'imgfleet-closed-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('names the first folder another user cannot enter, by owner, group and mode', () => {
    assert.equal(process.getuid?.(), 0, 'run as root, as the suite is');
    const closed = path.join(scratch, 'closed');
    const inner = path.join(closed, 'node_modules', 'pkg');
    mkdirSync(inner, { recursive: true });
    chmodSync(scratch, 0o755);
    chmodSync(closed, 0o700);
    assert.equal(firstClosedFolder(inner, NOBODY), closed);
    assert.equal(kernelLetsIn(inner, NOBODY), false);

    chmodSync(closed, 0o711); // enter, not list: enough to reach a known path
    assert.equal(firstClosedFolder(inner, NOBODY), undefined);
    assert.equal(kernelLetsIn(inner, NOBODY), true);

    chmodSync(closed, 0o700);
    chownSync(closed, NOBODY.uid, 0); // its owner may enter
    assert.equal(firstClosedFolder(inner, NOBODY), undefined);
    assert.equal(kernelLetsIn(inner, NOBODY), true);

    chownSync(closed, 0, NOBODY.gid);
    chmodSync(closed, 0o770); // its group may
    assert.equal(firstClosedFolder(inner, NOBODY), undefined);
    chmodSync(closed, 0o707); // the others' bit does not count for the group
    assert.equal(firstClosedFolder(inner, NOBODY), closed);
    assert.equal(kernelLetsIn(inner, NOBODY), false);
    assert.equal(firstClosedFolder(path.join(scratch, 'not-yet', 'data'), NOBODY), undefined);
  });

  it('the backend refuses to start with the folder named, exit 2, no crash', async () => {
    const closed = path.join(scratch, 'private');
    mkdirSync(closed, { mode: 0o700 });
    chmodSync(closed, 0o700);
    const dataDir = path.join(closed, 'data');
    const child = spawn(process.execPath, [MAIN_JS], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATA_DIR: dataDir,
        PORT: '0',
        EMBEDDED_PG_PORT: String(20000 + Math.floor(Math.random() * 20000)),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 2, stderr);
    assert.match(stderr, new RegExp(`^imgfleet: .*postgres user, which cannot enter ${closed} to reach its data folder`));
  });
});
