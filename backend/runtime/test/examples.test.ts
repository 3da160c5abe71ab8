/** The example functions in backend/runtime/functions/examples run as documented. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { FUNCTIONS_DIR, RuntimeTestBed, jsonWithFloats } from './support/harness.js';
import { makeZip } from './support/zip.js';

const EXAMPLES = path.join(FUNCTIONS_DIR, 'examples');

describe('example functions', () => {
  const bed = new RuntimeTestBed();
  after(() => bed.close());

  test('zip-function (two Python modules) as a ZIP with HANDLER_FUNCTION=main.handler', async () => {
    const folder = path.join(EXAMPLES, 'zip-function');
    const zip = makeZip(
      await Promise.all(['main.py', 'window.py'].map(async (name) => ({ name, data: await readFile(path.join(folder, name)), deflate: true }))),
    );
    const dir = await bed.dir();
    const zipPath = await bed.writeFile(dir, 'function.zip', zip);
    const input = bed.key('example:zip:in');
    const output = bed.key('example:zip:out');
    await bed.start({ inputKey: input, outputKey: output, functionPath: zipPath, handlerFunction: 'main.handler' });
    const samples = [
      { t: '12:00:00', q: 4, tp: 2.0 },
      { t: '12:00:30', q: 8, tp: 4.0 },
      { t: '12:01:00', q: 2, tp: 1.0 }, // the 12:00:00 sample is now 60 s old: out
    ];
    for (const [i, s] of samples.entries()) {
      await bed.redis.set(
        input,
        jsonWithFloats({ timestamp: `2026-01-01 ${s.t}.000000`, pod: 'pod-a', 'app-queue_size': s.q, 'app-throughput': { float: s.tp } }),
      );
      await bed.waitInvocations(output, i + 1);
    }
    assert.deepEqual(await bed.getJson(output), {
      pod: 'pod-a',
      moving_average_queue_size: 5,
      moving_average_throughput: 2.5,
      max_queue_size_60s: 8,
    });
  });

  test('busy-threads.mjs', async () => {
    const input = bed.key('example:js:in');
    const output = bed.key('example:js:out');
    await bed.start({ inputKey: input, outputKey: output, functionPath: path.join(EXAMPLES, 'busy-threads.mjs') });
    await bed.redis.set(input, JSON.stringify({ pod: 'p', 'app-total_threads': 4, 'app-active_threads': 1 }));
    await bed.waitInvocations(output, 1);
    await bed.redis.set(input, JSON.stringify({ pod: 'p', 'app-total_threads': 4, 'app-active_threads': 3 }));
    await bed.waitInvocations(output, 2);
    assert.deepEqual(await bed.getJson(output), { pod: 'p', busy_threads_percent: 75, busy_threads_percent_avg: 50 });
  });
});
