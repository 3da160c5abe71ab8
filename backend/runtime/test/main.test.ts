/**
 * The `imgfleet-runtime` bin as a process: configuration errors exit 1
 * naming the variable; SIGTERM stops it cleanly (python child gone, exit 0).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { runBin } from './support/bin.js';
import { FUNCTIONS_DIR, RuntimeTestBed, TEST_REDIS_URL, waitFor } from './support/harness.js';

const run = runBin;

describe('imgfleet-runtime bin', () => {
  const bed = new RuntimeTestBed();
  after(() => bed.close());

  test('a bad value exits 1 naming the variable', async () => {
    const proc = run({ REDIS_OUTPUT_KEY: 'o', INTERVAL: 'soon' });
    const { code } = await proc.exit;
    assert.equal(code, 1);
    assert.match(proc.stderr(), /INTERVAL="soon"/);
  });

  test('a missing input key or function file exits 1 saying which', async () => {
    const noKey = run({ REDIS_URL: TEST_REDIS_URL, REDIS_OUTPUT_KEY: bed.key('x') });
    assert.equal((await noKey.exit).code, 1);
    assert.match(noKey.stderr(), /REDIS_INPUT_KEY: is required/);

    const noFile = run({
      REDIS_URL: TEST_REDIS_URL,
      REDIS_INPUT_KEY: bed.key('x:in'),
      REDIS_OUTPUT_KEY: bed.key('x'),
      FUNCTION_PATH: '/nonexistent/usermodule.py',
    });
    assert.equal((await noFile.exit).code, 1);
    assert.match(noFile.stderr(), /FUNCTION_PATH \/nonexistent\/usermodule\.py/);
  });

  test('runs the course deployment variables and stops cleanly on SIGTERM', async () => {
    const input = bed.key('bin:in');
    const output = bed.key('bin:out');
    await bed.redis.set(
      input,
      '{"timestamp": "2026-01-01 00:00:00.000000", "cpu_percent-0": 12.0, "net_io_counters_eth0-bytes_sent": 1, "net_io_counters_eth0-bytes_recv": 3}',
    );
    const url = new URL(TEST_REDIS_URL);
    const proc = run({
      REDIS_HOST: url.hostname,
      REDIS_PORT: url.port || '6379',
      REDIS_INPUT_KEY: input,
      REDIS_OUTPUT_KEY: output,
      MONITORING_PERIOD: '0.1',
      FUNCTION_PATH: path.join(FUNCTIONS_DIR, 'usermodule.py'),
      HANDLER_FUNCTION: 'handler_module.handler',
    });
    await waitFor('output', async () => (await bed.redis.get(output)) !== null);
    assert.deepEqual(await bed.getJson(output), {
      percentage_outgoing_bytes: 25,
      'moving_average_cpu_percent-0': 12,
    });
    const started = proc.lines.find((l) => l.msg === 'python process started' && l.input_key !== undefined);
    const pythonPid = started?.python_pid as number;
    assert.ok(pythonPid > 0);
    assert.ok(existsSync(`/proc/${pythonPid}`));

    proc.child.kill('SIGTERM');
    const { code, signal } = await proc.exit;
    assert.equal(signal, null);
    assert.equal(code, 0);
    assert.ok(proc.lines.some((l) => l.msg === 'function runtime stopped'));
    assert.equal(existsSync(`/proc/${pythonPid}`), false, 'the python child is gone');
  });

  test('SIGINT stops it too, even with a handler hung mid-call', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', 'import time\ndef handler(input, context):\n    print("entered handler")\n    time.sleep(1000)\n');
    const input = bed.key('bin2:in');
    await bed.redis.set(input, '{}');
    const proc = run({
      REDIS_URL: TEST_REDIS_URL,
      REDIS_INPUT_KEY: input,
      REDIS_OUTPUT_KEY: bed.key('bin2:out'),
      INTERVAL: '0.1',
      FUNCTION_PATH: file,
    });
    await waitFor('handler hanging', () => proc.lines.some((l) => l.msg === 'entered handler'));
    const pythonPid = proc.lines.find((l) => l.msg === 'python process started' && l.input_key !== undefined)?.python_pid as number;
    proc.child.kill('SIGINT');
    const { code } = await proc.exit;
    assert.equal(code, 0);
    assert.equal(existsSync(`/proc/${pythonPid}`), false, 'the hung python child is gone');
  });

  test('a SIGKILLed runtime takes its python child with it, even mid-call', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, 'usermodule.py', 'import time\ndef handler(input, context):\n    print("entered handler")\n    time.sleep(1000)\n');
    const input = bed.key('bin3:in');
    await bed.redis.set(input, '{}');
    const proc = run({ REDIS_URL: TEST_REDIS_URL, REDIS_INPUT_KEY: input, REDIS_OUTPUT_KEY: bed.key('bin3:out'), INTERVAL: '0.1', FUNCTION_PATH: file });
    await waitFor('handler hanging', () => proc.lines.some((l) => l.msg === 'entered handler'));
    const pythonPid = proc.lines.find((l) => l.msg === 'python process started' && l.input_key !== undefined)?.python_pid as number;
    proc.child.kill('SIGKILL');
    await proc.exit;
    await waitFor('python child gone', () => !existsSync(`/proc/${pythonPid}`));
  });

  test('a SIGKILLed runtime takes its JavaScript handler process with it, even mid-call', async () => {
    const dir = await bed.dir();
    const file = await bed.writeFile(
      dir,
      'handler.mjs',
      'export async function handler() {\n  console.log("entered handler");\n  await new Promise(() => {});\n}\n',
    );
    const input = bed.key('bin4:in');
    await bed.redis.set(input, '{}');
    const proc = run({ REDIS_URL: TEST_REDIS_URL, REDIS_INPUT_KEY: input, REDIS_OUTPUT_KEY: bed.key('bin4:out'), INTERVAL: '0.1', FUNCTION_PATH: file });
    await waitFor('handler waiting', () => proc.lines.some((l) => l.msg === 'entered handler'));
    const handlerPid = proc.lines.find((l) => l.msg === 'handler process started' && l.input_key !== undefined)?.pid as number;
    assert.ok(handlerPid > 0);
    proc.child.kill('SIGKILL');
    await proc.exit;
    await waitFor('handler process gone', () => !existsSync(`/proc/${handlerPid}`));
  });
});
