/**
 * The parts of the course runtime (lucasmsp/serverless:redis) a handler can
 * see, exactly: function_getmtime as a '%Y-%m-%d %H:%M:%S' string, the
 * Context methods set_env(), confirm_execution() and help(), and a reload
 * that does not call the handler again on an input it has already seen.
 */
import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import { formatMtime } from '../src/function-loader.js';
import { RuntimeTestBed, jsonWithFloats, waitFor } from './support/harness.js';

const CONTEXT_PROBE = `
from datetime import datetime

def handler(input, context):
    if input['step'] == 1:
        context.help()
        context.set_env({'replaced': True, 'calls': 1})
    else:
        context.env['calls'] += 1
    return {
        'mtime': context.function_getmtime,
        'mtime_type': type(context.function_getmtime).__name__,
        'env': context.env,
        'last_execution': context.last_execution.isoformat() if context.last_execution else None,
        'has_methods': all(callable(getattr(context, m)) for m in ('set_env', 'confirm_execution', 'help')),
    }
`;

/** A 60 s moving average of cpu, history as (datetime, value) in a deque: the course's stateful kind. */
const MOVING_AVERAGE = (comment: string) => `
# ${comment}
from collections import deque
from datetime import datetime, timedelta

def handler(input, context):
    now = datetime.strptime(input['timestamp'], '%Y-%m-%d %H:%M:%S.%f')
    history = context.env.setdefault('cpu', deque())
    history.append((now, input['cpu_percent-0']))
    while history and history[0][0] <= now - timedelta(seconds=60):
        history.popleft()
    return {'avg': sum(v for _, v in history) / len(history), 'samples': len(history)}
`;

function snapshot(second: number, cpu: number): string {
  return jsonWithFloats({ timestamp: `2026-01-01 10:00:${String(second).padStart(2, '0')}.000000`, 'cpu_percent-0': { float: cpu } });
}

describe('the course context', () => {
  const bed = new RuntimeTestBed();
  after(() => bed.close());

  test("function_getmtime is the module's mtime as '%Y-%m-%d %H:%M:%S'; set_env, confirm_execution and help behave as the course's", async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', CONTEXT_PROBE);
    const mtime = 1767225600 + 3723.75; // 2026-01-01 01:02:03.75 UTC
    await utimes(file, mtime, mtime);
    const input = bed.key('ctx:in');
    const output = bed.key('ctx:out');
    const { logs } = await bed.start({ inputKey: input, outputKey: output, functionPath: file });

    await bed.redis.set(input, '{"step": 1}');
    await bed.waitInvocations(output, 1);
    const first = (await bed.getJson(output))!;
    assert.equal(first.mtime_type, 'str');
    assert.equal(first.mtime, formatMtime(mtime));
    assert.match(String(first.mtime), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    assert.deepEqual(first.env, { replaced: true, calls: 1 });
    assert.equal(first.last_execution, null, 'before the first confirmed execution');
    assert.equal(first.has_methods, true);
    await waitFor('help() printed', () => logs.some((l) => l.source === 'handler' && l.msg.includes(':param function_getmtime: Timestamp of last update')));

    await bed.redis.set(input, '{"step": 2}');
    await bed.waitInvocations(output, 2);
    const second = (await bed.getJson(output))!;
    assert.deepEqual(second.env, { replaced: true, calls: 2 }, 'the env set_env() put there persists');
    assert.ok(typeof second.last_execution === 'string' && !Number.isNaN(Date.parse(second.last_execution)), 'confirm_execution() ran after the first call');
  });

  test('a JavaScript handler gets the same context: the mtime string, set_env, confirm_execution, help', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(
      dir,
      'handler.mjs',
      `export function handler(input, context) {
  if (input.step === 1) { context.help(); context.set_env({ replaced: true, calls: 1 }); }
  else context.env.calls += 1;
  return { mtime: context.function_getmtime, env: context.env, last_execution_is_date: context.last_execution instanceof Date };
}
`,
    );
    const mtime = 1767225600 + 45296; // 2026-01-01 12:34:56 UTC
    await utimes(file, mtime, mtime);
    const input = bed.key('jsctx:in');
    const output = bed.key('jsctx:out');
    const { logs } = await bed.start({ inputKey: input, outputKey: output, functionPath: file });
    await bed.redis.set(input, '{"step": 1}');
    await bed.waitInvocations(output, 1);
    assert.deepEqual(await bed.getJson(output), { mtime: formatMtime(mtime), env: { replaced: true, calls: 1 }, last_execution_is_date: false });
    await waitFor('help() printed', () => logs.some((l) => l.source === 'handler' && l.msg.includes(':param env: Dictionary to be used as context')));
    await bed.redis.set(input, '{"step": 2}');
    await bed.waitInvocations(output, 2);
    assert.deepEqual(await bed.getJson(output), { mtime: formatMtime(mtime), env: { replaced: true, calls: 2 }, last_execution_is_date: true });
  });

  test('a reload (an edit that only adds a comment) does not count the current snapshot twice', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', MOVING_AVERAGE('version 1'));
    const input = bed.key('avg:in');
    const output = bed.key('avg:out');
    await bed.start({ inputKey: input, outputKey: output, functionPath: file });
    const cpus = [10, 20, 30, 40, 50];
    for (const [i, cpu] of cpus.slice(0, 3).entries()) {
      await bed.redis.set(input, snapshot(i * 5, cpu));
      await bed.waitInvocations(output, i + 1);
    }
    assert.deepEqual(await bed.getJson(output), { avg: 20, samples: 3 });

    await bed.writeFile(dir, 'usermodule.py', MOVING_AVERAGE('version 1, with a comment'), 10);
    await waitFor('reloaded', async () => (await bed.stats(output))?.reloads === 1);
    const stats = (await bed.stats(output))!;
    assert.equal(stats.invocations, 3, 'the reload called nothing');
    assert.deepEqual(await bed.getJson(output), { avg: 20, samples: 3 });

    for (const [i, cpu] of cpus.slice(3).entries()) {
      await bed.redis.set(input, snapshot((i + 3) * 5, cpu));
      await bed.waitInvocations(output, i + 4);
    }
    // As if nothing had happened: five snapshots, each counted once.
    assert.deepEqual(await bed.getJson(output), { avg: 30, samples: 5 });
  });
});
