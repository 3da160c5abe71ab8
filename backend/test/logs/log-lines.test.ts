/**
 * The backend's JSON log lines name each key once. pino writes whatever it is
 * given: the logger's base `pod` and a call's own `pod` both, which a JSON
 * parser silently folds into one (so the check reads the raw line's keys).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { baseEnv, spawnBackend, type BackendProcess } from '../support/backend.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** The top-level keys of one JSON object's text, in order, repeats kept. */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const token = text.slice(i, j + 1);
      let k = j + 1;
      while (text[k] === ' ') k++;
      if (depth === 1 && text[k] === ':') keys.push(JSON.parse(token) as string);
      i = j + 1;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    i++;
  }
  return keys;
}

describe('backend log lines', () => {
  let db: TestDatabase;
  let backend: BackendProcess | undefined;
  before(async () => {
    db = await createTestDatabase('imgfleet_logs');
  });
  after(async () => {
    if (backend && backend.child.exitCode === null) {
      backend.child.kill('SIGKILL');
      await backend.exit;
    }
    await db.drop();
  });

  it('the key scanner sees repeats a parser would fold', () => {
    assert.deepEqual(topLevelKeys('{"pod":"a","x":{"pod":"b"},"s":"\\"pod\\":","pod":"a"}'), ['pod', 'x', 's', 'pod']);
  });

  it('names each key once on every line, from start to a clean stop', async () => {
    backend = await spawnBackend(baseEnv(db.url, { POD_NAME: 'pod-under-test' }));
    // The two lines that named `pod` again themselves: ready (awaited by spawnBackend) and the metrics hub's first.
    const stdout = backend.child.stdout!;
    await new Promise<void>((resolve) => {
      const check = () => {
        if (backend!.output().includes('metrics: publishing snapshots')) {
          stdout.off('data', check);
          resolve();
        }
      };
      stdout.on('data', check);
      check();
    });
    backend.child.kill('SIGTERM');
    assert.deepEqual(await backend.exit, { code: 0, signal: null });

    const lines = backend
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    for (const msg of ['imgfleet backend ready', 'metrics: publishing snapshots', 'drained'])
      assert.ok(messages.includes(msg), `no "${msg}" line in:\n${messages.join('\n')}`);
    for (const line of lines) {
      const keys = topLevelKeys(line);
      assert.deepEqual(
        keys.filter((key, i) => keys.indexOf(key) !== i),
        [],
        `a key repeats in ${line}`,
      );
      assert.equal((JSON.parse(line) as { pod: string }).pod, 'pod-under-test', line);
    }
  });
});
