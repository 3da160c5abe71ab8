/**
 * Errors loading the function (a bad ZIP, a syntax error, a missing handler)
 * go to `<REDIS_OUTPUT_KEY>:error` like call errors, and are marked resolved
 * the same way once a good version loads, also one left by an earlier run.
 * A resolution never hides a newer error of something else under that key.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { ErrorRecord } from '../src/errors.js';
import { RuntimeTestBed, waitFor } from './support/harness.js';
import { makeZip } from './support/zip.js';

const GOOD_PY = `
def handler(input, context):
    if input.get('fail'):
        raise ValueError('call failed on purpose')
    return {'v': input['v'], 'version': 'good'}
`;

/** The record once it is resolved, checked like a resolved call error. */
async function waitResolved(bed: RuntimeTestBed, output: string, open: ErrorRecord): Promise<ErrorRecord> {
  const resolved = await waitFor(`${open.kind} error resolved`, async () => {
    const e = await bed.lastError(output);
    return e?.resolved ? e : undefined;
  });
  assert.equal(resolved.error, open.error, 'what went wrong is still there');
  assert.equal(resolved.kind, open.kind);
  assert.equal(resolved.at, open.at);
  assert.ok(Date.parse(resolved.resolved_at!) >= Date.parse(resolved.at), 'resolved after it happened');
  return resolved;
}

describe('function load errors', () => {
  const bed = new RuntimeTestBed();
  after(() => bed.close());

  test('a file that is not a ZIP is reported, and resolved once a good ZIP loads', async () => {
    const dir = await bed.dir();
    const zip = await bed.writeFile(dir, 'function.zip', 'this is not a zip archive');
    const input = bed.key('badzip:in');
    const output = bed.key('badzip:out');
    await bed.redis.set(input, '{"v": 1}');
    const { runtime } = await bed.start({ inputKey: input, outputKey: output, functionPath: zip, handlerFunction: 'main.handler' });
    const open = await waitFor('load error', () => bed.lastError(output));
    assert.ok(open.kind === 'load' || open.kind === 'unsafe_archive', open.kind);
    assert.equal(open.resolved, undefined);
    assert.equal(runtime.status().loaded, false);

    await bed.writeFile(dir, 'function.zip', makeZip([{ name: 'main.py', data: GOOD_PY }]), 10);
    await waitFor('output of the good version', async () => (await bed.getJson<{ version: string }>(output))?.version === 'good');
    await waitResolved(bed, output, open);
  });

  for (const [slug, what, broken, pattern] of [
    ['syntax', 'a syntax error', 'def handler(input, context)\n    return {}\n', /SyntaxError/],
    ['nohandler', 'a missing handler', 'def other(input, context):\n    return {}\n', /has no function 'handler'/],
  ] as const) {
    test(`a reload with ${what} is reported while the old version serves; fixing it resolves the error`, async () => {
      const dir = await bed.dir();
      const file = await bed.writeFile(dir, 'usermodule.py', GOOD_PY);
      const input = bed.key(`reload-${slug}:in`);
      const output = bed.key(`reload-${slug}:out`);
      await bed.redis.set(input, '{"v": 1}');
      await bed.start({ inputKey: input, outputKey: output, functionPath: file });
      await bed.waitInvocations(output, 1);

      await bed.writeFile(dir, 'usermodule.py', broken, 10);
      const open = await waitFor('reload error', async () => {
        const e = await bed.lastError(output);
        return e?.kind === 'load' ? e : undefined;
      });
      assert.match(open.error, pattern);
      // The old version still serves, and its success must not hide that the file on disk is broken.
      await bed.redis.set(input, '{"v": 2}');
      await bed.waitInvocations(output, 2);
      assert.deepEqual(await bed.lastError(output), open, 'a successful call of the old version leaves the load error open');

      await bed.writeFile(dir, 'usermodule.py', GOOD_PY.replace("'good'", "'fixed'"), 20);
      await waitFor('reloaded', async () => (await bed.stats(output))?.reloads === 1);
      await waitResolved(bed, output, open);
      await bed.redis.set(input, '{"v": 3}');
      await waitFor('the fixed version runs', async () => (await bed.getJson<{ version: string }>(output))?.version === 'fixed');
    });
  }

  test('a call error is not marked resolved by a reload, nor a load error by a call', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', GOOD_PY);
    const input = bed.key('mixed:in');
    const output = bed.key('mixed:out');
    await bed.redis.set(input, '{"v": 1, "fail": true}');
    const { runtime } = await bed.start({ inputKey: input, outputKey: output, functionPath: file });
    await bed.waitInvocations(output, 1);
    const callError = (await bed.lastError(output))!;
    assert.equal(callError.kind, 'exception');

    // A good reload is not a successful call: the call error stays open.
    await bed.writeFile(dir, 'usermodule.py', `${GOOD_PY}\n# v2\n`, 10);
    await waitFor('reloaded', async () => (await bed.stats(output))?.reloads === 1);
    await bed.waitPolls(runtime, 3);
    assert.deepEqual(await bed.lastError(output), callError);
    await bed.redis.set(input, '{"v": 2}');
    await bed.waitInvocations(output, 2);
    assert.equal((await bed.lastError(output))?.resolved, true);
  });

  test('a load error left by an earlier run is resolved when this run loads the function', async () => {
    const dir = await bed.dir();
    const zip = await bed.writeFile(dir, 'function.zip', makeZip([{ name: 'main.py', data: 'def handler(input, context)\n' }]));
    const input = bed.key('restart:in');
    const output = bed.key('restart:out');
    const first = await bed.start({ inputKey: input, outputKey: output, functionPath: zip, handlerFunction: 'main.handler' });
    const open = await waitFor('load error', () => bed.lastError(output));
    assert.equal(open.kind, 'load');
    await first.runtime.stop();

    await bed.writeFile(dir, 'function.zip', makeZip([{ name: 'main.py', data: GOOD_PY }]), 10);
    await bed.start({ inputKey: input, outputKey: output, functionPath: zip, handlerFunction: 'main.handler' });
    await waitResolved(bed, output, open);
  });
});
