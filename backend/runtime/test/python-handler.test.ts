/**
 * Python handlers through the whole runtime: real Redis, real python3 child.
 */
import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import { RuntimeTestBed, jsonWithFloats, waitFor } from './support/harness.js';
import { makeZip } from './support/zip.js';

/** A handler as the course wrote them: datetime and deque in context.env, strptime on the timestamp. */
const COURSE_HANDLER = `
from collections import deque
from datetime import datetime, timedelta

def handler(input, context):
    # The runtime must hand over 12.0 as a float, as json.loads does.
    assert isinstance(input['cpu_percent-0'], float), type(input['cpu_percent-0'])
    # The course runtime's string: datetime.fromtimestamp(getmtime).strftime('%Y-%m-%d %H:%M:%S').
    import os
    assert context.function_getmtime == datetime.fromtimestamp(os.path.getmtime(__file__)).strftime('%Y-%m-%d %H:%M:%S'), context.function_getmtime
    now = datetime.strptime(input['timestamp'], '%Y-%m-%d %H:%M:%S.%f')
    print('handler saw', input['timestamp'])   # must not corrupt the protocol

    env = context.env
    if 'history' not in env:
        env['history'] = deque(maxlen=12)
        env['first_seen'] = now
        env['calls'] = 0
    env['calls'] += 1
    env['history'].append((now, input['cpu_percent-0']))
    values = [v for _, v in env['history']]
    return {
        'calls': env['calls'],
        'avg_cpu': sum(values) / len(values),
        'seconds_since_first': (now - env['first_seen']).total_seconds(),
        'last_execution_type': type(context.last_execution).__name__,
        'history_type': type(env['history']).__name__,
        'input_key': context.input_key,
        'output_key': context.output_key,
        'echo': input['cpu_percent-0'],
    }
`;

function snapshot(i: number, cpu: number): string {
  const seconds = String(i * 5).padStart(2, '0');
  return jsonWithFloats({
    timestamp: `2026-01-01 10:00:${seconds}.123456`,
    'cpu_percent-0': { float: cpu },
    n_pids: 100,
  });
}

describe('python handlers', () => {
  const bed = new RuntimeTestBed();
  after(() => bed.close());

  test('a course-style handler keeps datetime/deque state across a sequence of snapshots', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', COURSE_HANDLER);
    // A whole-second mtime: JSON would carry it as an int, yet getmtime() gives a float.
    await utimes(file, 1767225600, 1767225600);
    const input = bed.key('course:in');
    const output = bed.key('course:out');
    const { logs } = await bed.start({ inputKey: input, outputKey: output, functionPath: file });

    const cpus = [12.0, 20.0, 31.5, 40.0];
    const expected = [
      { calls: 1, avg_cpu: 12.0, seconds_since_first: 0, last_execution_type: 'NoneType' },
      { calls: 2, avg_cpu: 16.0, seconds_since_first: 5, last_execution_type: 'datetime' },
      { calls: 3, avg_cpu: 63.5 / 3, seconds_since_first: 10, last_execution_type: 'datetime' },
      { calls: 4, avg_cpu: 103.5 / 4, seconds_since_first: 15, last_execution_type: 'datetime' },
    ];
    for (const [i, cpu] of cpus.entries()) {
      await bed.redis.set(input, snapshot(i, cpu));
      await bed.waitInvocations(output, i + 1);
      const raw = await bed.redis.get(output);
      assert.ok(raw, 'output written');
      const out = JSON.parse(raw) as Record<string, unknown>;
      assert.deepEqual(out, {
        ...expected[i],
        history_type: 'deque',
        input_key: input,
        output_key: output,
        echo: cpu,
      });
      // Python encoded the output and JS did not touch it: the float keeps its ".0".
      if (Number.isInteger(cpu)) assert.match(raw, new RegExp(`"echo": ${cpu}\\.0`));
    }
    const stats = await bed.stats(output);
    assert.equal(stats?.errors, 0);
    assert.equal(stats?.writes, 4);
    assert.equal(stats?.language, 'python');
    assert.equal(stats?.handler, 'usermodule.handler');
    assert.equal(typeof stats?.avg_duration_ms, 'number');
    assert.equal(typeof stats?.max_duration_ms, 'number');
    assert.equal(await bed.lastError(output), null);
    assert.ok(
      logs.some((l) => l.source === 'handler' && String(l.msg).includes('handler saw 2026-01-01 10:00:00.123456')),
      "the handler's print() shows up in the logs",
    );
  });

  test('calls the handler only when the input changed', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(
      dir,
      'usermodule.py',
      `def handler(input, context):\n    context.env['n'] = context.env.get('n', 0) + 1\n    return {'n': context.env['n'], 'v': input['v']}\n`,
    );
    const input = bed.key('change:in');
    const output = bed.key('change:out');
    await bed.redis.set(input, '{"v": 1}');
    const { runtime } = await bed.start({ inputKey: input, outputKey: output, functionPath: file });
    await bed.waitInvocations(output, 1);
    await bed.waitPolls(runtime, 4);
    assert.deepEqual(await bed.getJson(output), { n: 1, v: 1 });
    assert.equal((await bed.stats(output))?.invocations, 1);

    await bed.redis.set(input, '{"v": 2}');
    await bed.waitInvocations(output, 2);
    assert.deepEqual(await bed.getJson(output), { n: 2, v: 2 });
  });

  test('with CALL_ON_CHANGE_ONLY=false the handler runs every period', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(
      dir,
      'usermodule.py',
      `def handler(input, context):\n    context.env['n'] = context.env.get('n', 0) + 1\n    return {'n': context.env['n']}\n`,
    );
    const input = bed.key('every:in');
    const output = bed.key('every:out');
    await bed.redis.set(input, '{"v": 1}');
    await bed.start({ inputKey: input, outputKey: output, functionPath: file, callOnChangeOnly: false });
    await bed.waitInvocations(output, 3);
    const out = await waitFor('n >= 3', async () => {
      const v = await bed.getJson<{ n: number }>(output);
      return v && v.n >= 3 ? v : undefined;
    });
    assert.ok(out.n >= 3);
  });

  test('a falsy result writes nothing and keeps the previous output', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(
      dir,
      'usermodule.py',
      [
        'def handler(input, context):',
        "    kind = input['kind']",
        "    if kind == 'none': return None",
        "    if kind == 'empty': return {}",
        "    if kind == 'zero': return 0",
        "    return {'value': input['value']}",
        '',
      ].join('\n'),
    );
    const input = bed.key('falsy:in');
    const output = bed.key('falsy:out');
    await bed.redis.set(input, '{"kind": "none"}');
    await bed.start({ inputKey: input, outputKey: output, functionPath: file });
    await bed.waitInvocations(output, 1);
    assert.equal(await bed.redis.get(output), null);

    await bed.redis.set(input, '{"kind": "value", "value": 7}');
    await bed.waitInvocations(output, 2);
    assert.deepEqual(await bed.getJson(output), { value: 7 });

    for (const [i, kind] of ['empty', 'zero', 'none'].entries()) {
      await bed.redis.set(input, JSON.stringify({ kind }));
      await bed.waitInvocations(output, 3 + i);
      assert.deepEqual(await bed.getJson(output), { value: 7 }, `${kind} must not overwrite`);
    }
    const stats = await bed.stats(output);
    assert.equal(stats?.empty_results, 4);
    assert.equal(stats?.writes, 1);
    assert.equal(stats?.errors, 0);
  });

  test('reloads the module when its file changes, keeping context.env; a broken update keeps the old version', async () => {
    const dir = await bed.dir();
    const version = (v: number) =>
      `def handler(input, context):\n    context.env['n'] = context.env.get('n', 0) + 1\n    return {'version': ${v}, 'n': context.env['n'], 'mtime': context.function_getmtime}\n`;
    const file = await bed.writeFile(dir, 'usermodule.py', version(1));
    const input = bed.key('reload:in');
    const output = bed.key('reload:out');
    await bed.redis.set(input, '{"v": 1}');
    await bed.start({ inputKey: input, outputKey: output, functionPath: file });
    const first = await waitFor('version 1', async () => {
      const out = await bed.getJson<{ version: number; n: number; mtime: string }>(output);
      return out?.version === 1 ? out : undefined;
    });
    assert.equal(first.n, 1);

    await bed.writeFile(dir, 'usermodule.py', version(2), 10);
    // A reload alone calls nothing (that would count the current input twice): the next new input runs the new code.
    await waitFor('reloaded', async () => (await bed.stats(output))?.reloads === 1);
    assert.equal((await bed.getJson<{ version: number }>(output))?.version, 1);
    await bed.redis.set(input, '{"v": 1.5}');
    const second = await waitFor('version 2', async () => {
      const out = await bed.getJson<{ version: number; n: number; mtime: string }>(output);
      return out?.version === 2 ? out : undefined;
    });
    assert.equal(second.n, 2, 'context.env survived the reload');
    const seconds = (text: string) => Date.parse(text.replace(' ', 'T')) / 1000;
    assert.ok(seconds(second.mtime) > seconds(first.mtime) + 5, 'function_getmtime follows the file');
    assert.equal((await bed.stats(output))?.reloads, 1);

    await bed.writeFile(dir, 'usermodule.py', 'def handler(input, context)\n    return {}\n', 20);
    const error = await waitFor('load error', async () => {
      const e = await bed.lastError(output);
      return e?.kind === 'load' ? e : undefined;
    });
    assert.match(error.error, /SyntaxError/);
    await bed.redis.set(input, '{"v": 2}');
    await waitFor('old version still serving', async () => {
      const out = await bed.getJson<{ version: number; n: number }>(output);
      return out?.version === 2 && out.n === 3;
    });

    await bed.writeFile(dir, 'usermodule.py', version(3), 30);
    await waitFor('reloaded again', async () => (await bed.stats(output))?.reloads === 2);
    await bed.redis.set(input, '{"v": 3}');
    const third = await waitFor('version 3', async () => {
      const out = await bed.getJson<{ version: number; n: number }>(output);
      return out?.version === 3 ? out : undefined;
    });
    assert.equal(third.n, 4, 'one call per new input, none for the reloads');
  });

  test('a ZIP of two modules where one imports the other, with HANDLER_FUNCTION=main.handler', async () => {
    const dir = await bed.dir();
    const zip = await bed.writeFile(
      dir,
      'function.zip',
      makeZip([
        {
          name: 'main.py',
          data: [
            'from helpers import moving_average',
            'from stats.percent import percent',
            '',
            'def handler(input, context):',
            "    history = context.env.setdefault('cpu', [])",
            "    history.append(input['cpu'])",
            "    return {'avg': moving_average(history, 3), 'pct': percent(input['used'], input['total'])}",
            '',
          ].join('\n'),
        },
        { name: 'helpers.py', data: 'def moving_average(values, n):\n    last = values[-n:]\n    return sum(last) / len(last)\n' },
        { name: 'stats/__init__.py', data: '' },
        { name: 'stats/percent.py', data: 'def percent(part, whole):\n    return part / whole * 100\n', deflate: true },
      ]),
    );
    const input = bed.key('zip:in');
    const output = bed.key('zip:out');
    await bed.redis.set(input, '{"cpu": 10.0, "used": 1, "total": 4}');
    const { runtime } = await bed.start({ inputKey: input, outputKey: output, functionPath: zip, handlerFunction: 'main.handler' });
    await bed.waitInvocations(output, 1);
    assert.deepEqual(await bed.getJson(output), { avg: 10, pct: 25 });
    await bed.redis.set(input, '{"cpu": 20.0, "used": 1, "total": 2}');
    await bed.waitInvocations(output, 2);
    assert.deepEqual(await bed.getJson(output), { avg: 15, pct: 50 });
    assert.equal(runtime.status().handler, 'main.handler');
  });

  test('a folder of modules as FUNCTION_PATH', async () => {
    const dir = await bed.dir();
    await bed.writeFile(dir, 'helper.py', 'def shout(s):\n    return s.upper()\n');
    await bed.writeFile(dir, 'main.py', 'from helper import shout\ndef handler(input, context):\n    return {"said": shout(input["say"])}\n');
    const input = bed.key('folder:in');
    const output = bed.key('folder:out');
    await bed.redis.set(input, '{"say": "hi"}');
    const { runtime, logs } = await bed.start({ inputKey: input, outputKey: output, functionPath: dir, handlerFunction: 'main.handler' });
    await bed.waitInvocations(output, 1);
    assert.deepEqual(await bed.getJson(output), { said: 'HI' });
    await bed.waitPolls(runtime, 3);
    assert.equal(logs.filter((l) => l.msg === 'function reloaded').length, 0, 'nothing changed, nothing reloaded');
  });
});
