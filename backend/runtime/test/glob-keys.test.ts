/**
 * REDIS_INPUT_KEY as a glob: one context per matching key, output to
 * `<REDIS_OUTPUT_KEY>:<suffix>`, contexts dropped when their key goes.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { RuntimeTestBed, waitFor } from './support/harness.js';

const COUNTER = `
def handler(input, context):
    context.env['n'] = context.env.get('n', 0) + 1
    return {'pod': input['pod'], 'n': context.env['n'], 'input_key': context.input_key, 'output_key': context.output_key}
`;

describe('glob input keys', () => {
  const bed = new RuntimeTestBed();
  after(() => bed.close());

  test('three pods give three contexts and three outputs; a vanished key drops its context', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', COUNTER);
    // Outputs live under the same prefix and match the pattern too: the runtime must not feed on them.
    const pattern = bed.key('*');
    const base = bed.key('derived');
    const pods = ['pod-a', 'pod-b', 'pod-c'];
    for (const pod of pods) await bed.redis.set(bed.key(pod), JSON.stringify({ pod, v: 1 }));
    await bed.redis.hset(bed.key('not-a-string'), 'pod', 'x'); // matches, but is not a metrics snapshot

    const { runtime } = await bed.start({ inputKey: pattern, outputKey: base, functionPath: file });
    for (const pod of pods) {
      await bed.waitInvocations(`${base}:${pod}`, 1);
      assert.deepEqual(await bed.getJson(`${base}:${pod}`), {
        pod,
        n: 1,
        input_key: bed.key(pod),
        output_key: `${base}:${pod}`,
      });
    }
    await bed.waitPolls(runtime, 3);
    assert.deepEqual(
      runtime.status().contexts,
      pods.map((p) => bed.key(p)),
    );

    // Each context has its own env.
    await bed.redis.set(bed.key('pod-a'), JSON.stringify({ pod: 'pod-a', v: 2 }));
    await bed.waitInvocations(`${base}:pod-a`, 2);
    assert.equal((await bed.getJson<{ n: number }>(`${base}:pod-a`))?.n, 2);
    assert.equal((await bed.getJson<{ n: number }>(`${base}:pod-b`))?.n, 1);

    // pod-c goes away (its snapshot expired): its context is dropped...
    await bed.redis.del(bed.key('pod-c'));
    await waitFor('pod-c dropped', () => !runtime.status().contexts.includes(bed.key('pod-c')));
    // ...so when a pod of that name comes back it starts from an empty env.
    await bed.redis.set(bed.key('pod-c'), JSON.stringify({ pod: 'pod-c', v: 2 }));
    await bed.redis.set(bed.key('pod-a'), JSON.stringify({ pod: 'pod-a', v: 3 }));
    await waitFor(
      'pod-c back',
      async () => (await bed.getJson<{ n: number }>(`${base}:pod-c`))?.n === 1 && (await bed.stats(`${base}:pod-c`))?.invocations === 1,
    );
    await bed.waitInvocations(`${base}:pod-a`, 3);
    assert.equal((await bed.getJson<{ n: number }>(`${base}:pod-a`))?.n, 3);
  });

  test('a new matching key is picked up without a restart', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', COUNTER);
    const pattern = bed.key('metrics:*');
    const base = bed.key('late:derived');
    const { runtime } = await bed.start({ inputKey: pattern, outputKey: base, functionPath: file });
    await bed.waitPolls(runtime, 2);
    assert.deepEqual(runtime.status().contexts, []);
    await bed.redis.set(bed.key('metrics:newcomer'), JSON.stringify({ pod: 'newcomer' }));
    await bed.waitInvocations(`${base}:newcomer`, 1);
    assert.equal((await bed.getJson<{ pod: string }>(`${base}:newcomer`))?.pod, 'newcomer');
  });
});
