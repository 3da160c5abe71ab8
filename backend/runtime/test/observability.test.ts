/**
 * /healthz, /readyz and Prometheus /metrics on the runtime's own port, with
 * per-context calls, errors, timeouts and durations; and a noisy handler's
 * output capped per call.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { RuntimeTestBed, waitFor } from './support/harness.js';

const BY_INPUT = `
import time

def handler(input, context):
    if input.get('raise'):
        raise KeyError('missing')
    if input.get('hang'):
        time.sleep(1000)
    return {'v': input['v']}
`;

const NOISY = `
import sys

def handler(input, context):
    # A course handler that printed its whole input in a loop wrote 23 MB in two calls.
    for i in range(2000):
        print('line %d of call %d: %s' % (i, input['v'], 'x' * 500))
    sys.stderr.write('no newline at the end ' * 10000)
    return {'v': input['v']}
`;

async function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

/** The value of one sample line of the Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels);
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...m[2]!.matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (wanted.every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}

describe('health and metrics', () => {
  const bed = new RuntimeTestBed();
  after(() => bed.close());

  test('health, readiness and per-context call, error, timeout and duration metrics', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', BY_INPUT);
    const base = bed.key('obs:out');
    const keyOf = (pod: string) => bed.key(`obs:in:${pod}`);
    await bed.redis.set(keyOf('a'), '{"v": 1}');
    await bed.redis.set(keyOf('b'), '{"v": 1, "raise": true}');
    const { runtime } = await bed.start({ inputKey: bed.key('obs:in:*'), outputKey: base, functionPath: file, handlerTimeoutSeconds: 0.5 });
    const port = runtime.status().healthPort;
    assert.ok(port > 0);

    const health = await get(port, '/healthz');
    assert.equal(health.status, 200);
    assert.match(health.type, /application\/json/);
    assert.equal((JSON.parse(health.body) as { status: string }).status, 'ok');
    const ready = await get(port, '/readyz');
    assert.equal(ready.status, 200);
    assert.equal((JSON.parse(ready.body) as { loaded: boolean }).loaded, true);

    await bed.waitInvocations(`${base}:a`, 1);
    await bed.waitInvocations(`${base}:b`, 1);
    await bed.redis.set(keyOf('b'), '{"v": 2, "hang": true}');
    await waitFor('b timed out', async () => (await bed.lastError(`${base}:b`))?.kind === 'timeout');
    await bed.redis.set(keyOf('a'), '{"v": 2}');
    await bed.waitInvocations(`${base}:a`, 2);

    const metrics = await get(port, '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.type, /^text\/plain/);
    const a = { input_key: keyOf('a') };
    const b = { input_key: keyOf('b') };
    assert.equal(sample(metrics.body, 'imgfleet_runtime_calls_total', { ...a, outcome: 'ok' }), 2);
    assert.equal(sample(metrics.body, 'imgfleet_runtime_calls_total', { ...b, outcome: 'error' }), 2);
    assert.equal(sample(metrics.body, 'imgfleet_runtime_errors_total', { ...b, kind: 'exception' }), 1);
    assert.equal(sample(metrics.body, 'imgfleet_runtime_errors_total', { ...b, kind: 'timeout' }), 1);
    assert.equal(sample(metrics.body, 'imgfleet_runtime_timeouts_total', b), 1);
    assert.equal(sample(metrics.body, 'imgfleet_runtime_timeouts_total', a), undefined, 'a never timed out');
    assert.equal(sample(metrics.body, 'imgfleet_runtime_call_duration_seconds_count', a), 2);
    assert.equal(sample(metrics.body, 'imgfleet_runtime_call_duration_seconds_bucket', { ...b, le: '+Inf' }), 2);
    assert.match(metrics.body, /^imgfleet_runtime_polls_total \d+$/m);
    assert.match(metrics.body, /^imgfleet_runtime_contexts 2$/m);
    assert.match(metrics.body, /^imgfleet_runtime_function_loaded 1$/m);

    assert.equal((await get(port, '/nope')).status, 404);
  });

  test('a noisy handler prints at most HANDLER_OUTPUT_MAX_BYTES per call; the rest is counted and dropped', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', NOISY);
    const input = bed.key('noisy:in');
    const output = bed.key('noisy:out');
    const max = 20_000;
    const { logs, runtime } = await bed.start({ inputKey: input, outputKey: output, functionPath: file, handlerOutputMaxBytes: max });
    for (const v of [1, 2]) {
      await bed.redis.set(input, `{"v": ${v}}`);
      await bed.waitInvocations(output, v);
    }
    assert.deepEqual(await bed.getJson(output), { v: 2 }, 'the handler still works');
    const dropped = () => logs.filter((l) => l.msg.includes('handler output over 20000 bytes in one call'));
    await waitFor('two drop notices', () => dropped().length === 2);
    const printed = logs.filter((l) => l.source === 'handler' && !l.msg.includes('handler output over'));
    const bytes = printed.reduce((sum, l) => sum + Buffer.byteLength(l.msg) + 1, 0);
    // Each call printed over 1 MB; the logs carry about the budget of each.
    assert.ok(bytes <= 2 * (max + 2000), `logged ${bytes} bytes of handler output`);
    assert.ok(
      printed.some((l) => l.msg.startsWith('line 0 of call 2')),
      "the second call's output starts afresh",
    );
    const metrics = await get(runtime.status().healthPort, '/metrics');
    const droppedBytes = sample(metrics.body, 'imgfleet_runtime_handler_output_dropped_bytes_total', { input_key: input });
    assert.ok(droppedBytes !== undefined && droppedBytes > 2 * 1_000_000, `dropped ${droppedBytes}`);
  });
});
