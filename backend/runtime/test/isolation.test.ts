/**
 * Glob contexts are isolated: a handler that hangs or fails for one input
 * key neither delays the other keys' calls nor touches their context.env.
 * Each context has its own handler process, in Python and in JavaScript.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { RuntimeTestBed, waitFor } from './support/harness.js';

const PY_HANGS_FOR_B = `
import os, time

def handler(input, context):
    context.env['n'] = context.env.get('n', 0) + 1
    if input.get('hang'):
        time.sleep(1000)
    if input.get('raise'):
        raise RuntimeError('broken for ' + input['pod'])
    return {'pod': input['pod'], 'v': input['v'], 'n': context.env['n'], 'pid': os.getpid()}
`;

const JS_SPINS_FOR_B = `
export function handler(input, context) {
  context.env.n = (context.env.n ?? 0) + 1;
  if (input.hang) { for (;;) {} }
  return { pod: input.pod, v: input.v, n: context.env.n, pid: process.pid };
}
`;

interface Out {
  pod: string;
  v: number;
  n: number;
  pid: number;
}

describe('isolated contexts', () => {
  const bed = new RuntimeTestBed();
  after(() => bed.close());

  for (const [language, file, source] of [
    ['python', 'usermodule.py', PY_HANGS_FOR_B],
    ['javascript', 'handler.mjs', JS_SPINS_FOR_B],
  ] as const) {
    test(`${language}: one context hangs; the others keep their period and their env, and only the hung one restarts`, async () => {
      const dir = await bed.dir();
      const fn = await bed.writeFile(dir, file, source);
      const ns = `iso-${language}`;
      const base = bed.key(`${ns}:out`);
      const keyOf = (pod: string) => bed.key(`${ns}:in:${pod}`);
      const out = (pod: string) => `${base}:${pod}`;
      const send = (pod: string, v: number, extra: Record<string, unknown> = {}) => bed.redis.set(keyOf(pod), JSON.stringify({ pod, v, ...extra }));

      for (const pod of ['a', 'b', 'c']) await send(pod, 1);
      // A timeout long enough that b is certainly still hung while a and c run their calls below.
      const { runtime } = await bed.start({
        inputKey: bed.key(`${ns}:in:*`),
        outputKey: base,
        functionPath: fn,
        handlerTimeoutSeconds: 60,
      });
      for (const pod of ['a', 'b', 'c']) await bed.waitInvocations(out(pod), 1);
      const before = { a: (await bed.getJson<Out>(out('a')))!, b: (await bed.getJson<Out>(out('b')))!, c: (await bed.getJson<Out>(out('c')))! };
      const worker = (o: Out) => o.pid; // the handler's process
      assert.equal(new Set([worker(before.a), worker(before.b), worker(before.c)]).size, 3, 'a process per context');

      await send('b', 2, { hang: true });
      await waitFor('b hung', () => runtime.status().busy.includes(keyOf('b')));
      // While b hangs, a and c get three new inputs each and handle every one of them.
      for (let v = 2; v <= 4; v++) {
        await send('a', v);
        await send('c', v);
        await bed.waitInvocations(out('a'), v);
        await bed.waitInvocations(out('c'), v);
        assert.ok(runtime.status().busy.includes(keyOf('b')), 'b is still hung');
      }
      for (const pod of ['a', 'c'] as const) {
        const now = (await bed.getJson<Out>(out(pod)))!;
        assert.equal(now.v, 4);
        assert.equal(now.n, 4, `${pod}'s env went on counting`);
        assert.equal(worker(now), worker(before[pod]), `${pod}'s process was not touched`);
      }
      assert.equal((await bed.stats(out('b')))?.invocations, 1, 'b has not finished its second call');
      assert.equal(await bed.redis.exists(`${out('a')}:error`), 0);
    });
  }

  test('a timeout restarts only its own context: the others keep their env', async () => {
    const dir = await bed.dir();
    const fn = await bed.writeFile(dir, 'usermodule.py', PY_HANGS_FOR_B);
    const base = bed.key('iso-timeout:out');
    const keyOf = (pod: string) => bed.key(`iso-timeout:in:${pod}`);
    const send = (pod: string, v: number, extra: Record<string, unknown> = {}) => bed.redis.set(keyOf(pod), JSON.stringify({ pod, v, ...extra }));
    for (const pod of ['a', 'b']) await send(pod, 1);
    await bed.start({ inputKey: bed.key('iso-timeout:in:*'), outputKey: base, functionPath: fn, handlerTimeoutSeconds: 1 });
    for (const pod of ['a', 'b']) await bed.waitInvocations(`${base}:${pod}`, 1);
    const aBefore = (await bed.getJson<Out>(`${base}:a`))!;

    await send('b', 2, { hang: true });
    const error = await waitFor('b timed out', async () => {
      const e = await bed.lastError(`${base}:b`);
      return e?.kind === 'timeout' ? e : undefined;
    });
    assert.equal(error.state_lost, true);
    assert.match(error.error, /this context's context\.env was lost/);
    await send('b', 3);
    await send('a', 2);
    await bed.waitInvocations(`${base}:b`, 3);
    await bed.waitInvocations(`${base}:a`, 2);
    const a = (await bed.getJson<Out>(`${base}:a`))!;
    const b = (await bed.getJson<Out>(`${base}:b`))!;
    assert.equal(b.n, 1, "b's env started afresh in a new process");
    assert.equal(a.n, 2, "a's env is intact");
    assert.equal(a.pid, aBefore.pid, "a's process is the same");
    assert.equal((await bed.stats(`${base}:a`))?.state_resets, 0);
    assert.equal((await bed.stats(`${base}:b`))?.state_resets, 1);
  });
});
