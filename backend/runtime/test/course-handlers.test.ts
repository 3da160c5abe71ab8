/**
 * Ten handlers of the course's kind (test/fixtures/course-handlers/) run
 * twice over the same snapshots: once straight through, once with the
 * module edited (a comment only, a new mtime) halfway. A reload must be
 * invisible: the same outputs after every snapshot, each snapshot counted once.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RuntimeTestBed, jsonWithFloats, waitFor } from './support/harness.js';

/** The fixtures are not compiled: from dist/test/ back to test/fixtures/. */
const HANDLERS_DIR = fileURLToPath(new URL('../../test/fixtures/course-handlers/', import.meta.url));
const HANDLERS = readdirSync(HANDLERS_DIR)
  .filter((f) => f.endsWith('.py'))
  .sort();

const SNAPSHOTS = 8;
const RELOAD_AFTER = 4;

/** Snapshot i, 5 s apart from 10:00:40 (so minute buckets roll over), values as the agent writes them (`12.0`). */
function snapshot(i: number): string {
  const t = new Date(Date.UTC(2026, 0, 1, 10, 0, 40 + i * 5));
  const stamp = `${t.toISOString().slice(0, 10)} ${t.toISOString().slice(11, 19)}.250000`;
  const cpu = (k: number) => ({ float: ((i * 37 + k * 11) % 90) + 5 + (k === 0 ? 0 : 0.5) });
  return jsonWithFloats({
    timestamp: stamp,
    'cpu_percent-0': cpu(0),
    'cpu_percent-1': cpu(1),
    'cpu_percent-2': cpu(2),
    'cpu_percent-3': cpu(3),
    'virtual_memory-total': 8_000_000_000,
    'virtual_memory-used': 3_000_000_000 + i * 10_000_000,
    'virtual_memory-cached': 1_500_000_000 + i * 1_000_000,
    'virtual_memory-buffers': 200_000_000,
    'net_io_counters_eth0-bytes_sent': 1_000_000 + i * i * 50_000,
    'net_io_counters_eth0-bytes_recv': 4_000_000 + i * 120_000,
    n_pids: 300 + (i % 3),
  });
}

describe('ten course handlers across a reload', () => {
  const bed = new RuntimeTestBed();
  after(() => bed.close());

  test('there are ten of them', () => {
    assert.equal(HANDLERS.length, 10);
  });

  for (const name of HANDLERS) {
    test(`${name}: the same outputs with a reload halfway as without`, async () => {
      const source = await readFile(path.join(HANDLERS_DIR, name), 'utf8');
      const steady = await bed.dir();
      const edited = await bed.dir();
      const steadyFile = await bed.writeFile(steady, 'usermodule.py', source);
      const editedFile = await bed.writeFile(edited, 'usermodule.py', source);
      const key = (what: string) => bed.key(`${name}:${what}`);
      await bed.start({ inputKey: key('steady:in'), outputKey: key('steady:out'), functionPath: steadyFile });
      await bed.start({ inputKey: key('edited:in'), outputKey: key('edited:out'), functionPath: editedFile });

      for (let i = 0; i < SNAPSHOTS; i++) {
        if (i === RELOAD_AFTER) {
          await bed.writeFile(edited, 'usermodule.py', `# edited: nothing but this comment\n${source}`, 10);
          await waitFor('reload', async () => (await bed.stats(key('edited:out')))?.reloads === 1);
        }
        await bed.redis.set(key('steady:in'), snapshot(i));
        await bed.redis.set(key('edited:in'), snapshot(i));
        await bed.waitInvocations(key('steady:out'), i + 1);
        await bed.waitInvocations(key('edited:out'), i + 1);
        const [a, b] = await bed.redis.mget(key('steady:out'), key('edited:out'));
        assert.ok(a, `snapshot ${i}: an output`);
        assert.equal(b, a, `snapshot ${i}: the same JSON text`);
        assert.equal(await bed.lastError(key('steady:out')), null, `snapshot ${i}: no error`);
      }
      const stats = (await bed.stats(key('edited:out')))!;
      assert.equal(stats.invocations, SNAPSHOTS, 'each snapshot counted once');
      assert.equal(stats.reloads, 1);
    });
  }
});
