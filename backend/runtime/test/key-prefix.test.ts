/**
 * METRICS_KEY_PREFIX: two installations sharing one Redis. Each runtime reads
 * `<prefix><REDIS_INPUT_KEY>` and writes `<prefix><REDIS_OUTPUT_KEY>…`, so
 * neither sees the other's pods, even pods of the same name.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { RuntimeTestBed, waitFor } from './support/harness.js';

const ECHO = `
def handler(input, context):
    context.env['n'] = context.env.get('n', 0) + 1
    return {'install': input['install'], 'pod': input['pod'], 'n': context.env['n'],
            'input_key': context.input_key, 'output_key': context.output_key}
`;

describe('METRICS_KEY_PREFIX', () => {
  const bed = new RuntimeTestBed();
  after(() => bed.close());

  test('two runtimes with different prefixes on one Redis stay apart', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', ECHO);
    const one = `${bed.prefix}:one:`;
    // Glob characters in a prefix are literal: this one must not match `…:glob-x:` below.
    const two = `${bed.prefix}:gl[o]b*?:`;
    const decoy = `${bed.prefix}:glob-x:`;
    const snapshot = (install: string, pod: string) => JSON.stringify({ install, pod });
    await bed.redis.set(`${one}metrics:pod-a`, snapshot('one', 'pod-a'));
    await bed.redis.set(`${two}metrics:pod-a`, snapshot('two', 'pod-a'));
    await bed.redis.set(`${two}metrics:pod-b`, snapshot('two', 'pod-b'));
    await bed.redis.set(`${decoy}metrics:pod-d`, snapshot('decoy', 'pod-d'));

    const common = { inputKey: 'metrics:*', outputKey: 'metrics-derived', functionPath: file };
    const { runtime: r1 } = await bed.start({ ...common, metricsKeyPrefix: one });
    const { runtime: r2 } = await bed.start({ ...common, metricsKeyPrefix: two });

    await bed.waitInvocations(`${one}metrics-derived:pod-a`, 1);
    await bed.waitInvocations(`${two}metrics-derived:pod-a`, 1);
    await bed.waitInvocations(`${two}metrics-derived:pod-b`, 1);
    await bed.waitPolls(r1, 3);
    await bed.waitPolls(r2, 3);
    assert.deepEqual(r1.status().contexts, [`${one}metrics:pod-a`]);
    assert.deepEqual(r2.status().contexts, [`${two}metrics:pod-a`, `${two}metrics:pod-b`]);
    assert.deepEqual(await bed.getJson(`${one}metrics-derived:pod-a`), {
      install: 'one',
      pod: 'pod-a',
      n: 1,
      input_key: `${one}metrics:pod-a`,
      output_key: `${one}metrics-derived:pod-a`,
    });
    assert.equal((await bed.getJson<{ install: string }>(`${two}metrics-derived:pod-a`))?.install, 'two');

    // Every key written is under its installation's prefix; the decoy was never read.
    const written = (await bed.keysUnder(`${bed.prefix}*`)).filter((k) => k.includes('metrics-derived'));
    assert.deepEqual(
      written,
      [
        `${two}metrics-derived:pod-a`,
        `${two}metrics-derived:pod-a:stats`,
        `${two}metrics-derived:pod-b`,
        `${two}metrics-derived:pod-b:stats`,
        `${one}metrics-derived:pod-a`,
        `${one}metrics-derived:pod-a:stats`,
      ].sort(),
    );

    // A new snapshot of one installation's pod-a reaches only that installation.
    await bed.redis.set(`${one}metrics:pod-a`, snapshot('one', 'pod-a-2'));
    await waitFor('one:pod-a called again', async () => (await bed.stats(`${one}metrics-derived:pod-a`))?.invocations === 2);
    await bed.waitPolls(r2, 3);
    assert.equal((await bed.stats(`${two}metrics-derived:pod-a`))?.invocations, 1);
  });

  test('a single input key and the function-wide error companion get the prefix too', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', 'def other(input, context):\n    return {}\n');
    // Key names of this test's own, so that the unprefixed ones can be shown unused on a shared Redis.
    const inputKey = `${bed.prefix}-metrics`;
    const outputKey = `${bed.prefix}-derived`;
    const prefix = `${bed.prefix}:single:`;
    await bed.redis.set(`${prefix}${inputKey}`, '{"install": "single", "pod": "p"}');
    await bed.redis.set(inputKey, '{"install": "unprefixed", "pod": "p"}');
    const { runtime } = await bed.start({ inputKey, outputKey, functionPath: file, metricsKeyPrefix: prefix });
    const error = await waitFor('load error', () => bed.lastError(`${prefix}${outputKey}`));
    assert.equal(error.kind, 'load');
    assert.equal(error.input_key, `${prefix}${inputKey}`);

    await bed.writeFile(dir, 'usermodule.py', ECHO, 10);
    await bed.waitInvocations(`${prefix}${outputKey}`, 1);
    assert.deepEqual(await bed.getJson(`${prefix}${outputKey}`), {
      install: 'single',
      pod: 'p',
      n: 1,
      input_key: `${prefix}${inputKey}`,
      output_key: `${prefix}${outputKey}`,
    });
    assert.equal((await bed.lastError(`${prefix}${outputKey}`))?.resolved, true);
    await bed.waitPolls(runtime, 3);
    assert.equal(await bed.redis.exists(outputKey, `${outputKey}:error`, `${outputKey}:stats`), 0, 'nothing written without the prefix');
  });
});
