/**
 * A handler must not leave a second copy of its process behind: two copies
 * read the same requests and answer later calls with diverging context.env.
 * os.fork() is refused where it is called; a fork the refusal cannot see
 * (libc's fork through ctypes) and processes left running are killed after
 * the call. Each is reported under `:error` (kind `fork`), and every later
 * call is answered by the one process, with its env.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { RuntimeTestBed, waitFor } from './support/harness.js';
import { isRunning } from './support/proc.js';

const PY_FORKS = `
import ctypes, os, subprocess

def handler(input, context):
    context.env['n'] = context.env.get('n', 0) + 1
    what = input.get('do')
    if what == 'fork':
        pid = os.fork()
        if pid == 0:
            context.env['n'] = 1000
        return {'forked': pid, 'n': context.env['n'], 'pid': os.getpid()}
    if what == 'libc-fork':
        pid = ctypes.CDLL(None).fork()
        if pid == 0:
            context.env['n'] = 1000
        return {'forked': pid, 'n': context.env['n'], 'pid': os.getpid()}
    if what == 'leave':
        subprocess.Popen(['sleep', '1000'])
    if what == 'run':
        # A program run to completion is fine: nothing is left behind.
        return {'echo': subprocess.run(['echo', 'hi'], capture_output=True, text=True).stdout.strip(), 'n': context.env['n'], 'pid': os.getpid()}
    return {'n': context.env['n'], 'pid': os.getpid()}
`;

const JS_LEAVES = `
import { spawn, execFileSync } from 'node:child_process';
export function handler(input, context) {
  context.env.n = (context.env.n ?? 0) + 1;
  if (input.do === 'leave') spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' }).unref();
  if (input.do === 'run') return { echo: execFileSync('echo', ['hi'], { encoding: 'utf8' }).trim(), n: context.env.n, pid: process.pid };
  return { n: context.env.n, pid: process.pid };
}
`;

interface Out {
  n: number;
  pid: number;
  echo?: string;
  forked?: number;
}

describe('handlers that fork', () => {
  const bed = new RuntimeTestBed();
  after(() => bed.close());

  async function setup(name: string, fileName: string, source: string) {
    const dir = await bed.dir();
    const file = await bed.writeFile(dir, fileName, source);
    const input = bed.key(`${name}:in`);
    const output = bed.key(`${name}:out`);
    await bed.start({ inputKey: input, outputKey: output, functionPath: file });
    let calls = 0;
    const send = async (value: Record<string, unknown>) => {
      await bed.redis.set(input, JSON.stringify({ ...value, seq: calls }));
      await bed.waitInvocations(output, ++calls);
      return bed.getJson<Out>(output);
    };
    return { output, send };
  }

  /** Several calls in a row, all answered by `pid` with env counting on from `n`. */
  async function oneProcessAnswers(send: (v: Record<string, unknown>) => Promise<Out | null>, pid: number, n: number) {
    for (let i = 1; i <= 4; i++) {
      const out = await send({});
      assert.equal(out?.pid, pid, `call ${i} answered by the handler's one process`);
      assert.equal(out?.n, n + i, `call ${i}: the env went on counting`);
    }
  }

  test('python: os.fork() is refused with a clear error; the one process goes on with its env', async () => {
    const { output, send } = await setup('osfork', 'usermodule.py', PY_FORKS);
    const first = (await send({}))!;
    const before = await send({ do: 'fork' });
    const error = await bed.lastError(output);
    assert.equal(error?.kind, 'fork', JSON.stringify(error));
    assert.match(error?.error ?? '', /os\.fork\(\) is not allowed in a handler/);
    assert.equal(before?.forked, undefined, 'nothing written for the refused call');
    await oneProcessAnswers(send, first.pid, 2);
  });

  test('python: a fork through libc is found after the call, killed and reported; later calls see one process', async () => {
    const { output, send } = await setup('libcfork', 'usermodule.py', PY_FORKS);
    const first = (await send({}))!;
    await send({ do: 'libc-fork' });
    const error = await bed.lastError(output);
    assert.equal(error?.kind, 'fork', JSON.stringify(error));
    assert.match(error?.error ?? '', /left child process/);
    assert.equal((await bed.getJson<Out>(output))?.forked, undefined, 'nothing written for the refused call');
    // The call itself counted in the env of the one process that stays.
    await oneProcessAnswers(send, first.pid, 2);
  });

  test('python: a program left running is killed and reported; one run to completion is fine', async () => {
    const { output, send } = await setup('popen', 'usermodule.py', PY_FORKS);
    const ran = (await send({ do: 'run' }))!;
    assert.equal(ran.echo, 'hi');
    assert.equal(await bed.redis.exists(`${output}:error`), 0);
    await send({ do: 'leave' });
    const error = await bed.lastError(output);
    assert.equal(error?.kind, 'fork');
    const pid = Number(/pid (\d+)/.exec(error?.error ?? '')?.[1]);
    assert.ok(pid > 0, `the error names the process: ${error?.error}`);
    await waitFor('the left-behind sleep is gone', () => !isRunning(pid));
    await oneProcessAnswers(send, ran.pid, 2);
  });

  test('javascript: a process left running is killed and reported; one run to completion is fine', async () => {
    const { output, send } = await setup('jsleave', 'handler.mjs', JS_LEAVES);
    const ran = (await send({ do: 'run' }))!;
    assert.equal(ran.echo, 'hi');
    await send({ do: 'leave' });
    const error = await bed.lastError(output);
    assert.equal(error?.kind, 'fork', JSON.stringify(error));
    const pid = Number(/pid (\d+)/.exec(error?.error ?? '')?.[1]);
    assert.ok(pid > 0, `the error names the process: ${error?.error}`);
    await waitFor('the left-behind sleep is gone', () => !isRunning(pid));
    await oneProcessAnswers(send, ran.pid, 2);
  });
});
