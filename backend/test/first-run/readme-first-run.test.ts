/**
 * The README's first block, run as a new user would: a fresh clone of HEAD,
 * an empty HOME, the machine's own node first on PATH (Node 20 on this kind
 * of machine), the line with `npm start` run literally; the page it prints
 * the address of is imgfleet's, and Ctrl+C (SIGINT to the whole process
 * group, as a terminal sends it) stops everything cleanly.
 *
 * What is shared with the machine, and why: npm's cache folder
 * (npm_config_cache, as CI caches it), so the install and the Node 24 fetch
 * read tarballs already fetched instead of ~400 MB each run; npm still
 * resolves, verifies and extracts every package, and scripts/node24.sh still
 * runs its fetch (npm pack) into the empty HOME's cache. The data folder and
 * ports are the product's documented settings, pointed away from whatever
 * else runs on this shared machine.
 * The test command is only parsed (running `npm test` here would recurse).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
/** A fresh login's PATH: whatever node the machine has, nothing npm or this test runner put first. */
const FRESH_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Guard against a hang only (npm ci + start take about a minute); the test waits on output, not on this. */
const GIVE_UP_MS = 240_000;

/** The commands of README.md's first ```bash block, comments dropped. */
function firstBlockCommands(readme: string): string[] {
  const block = /^```bash\n([\s\S]*?)^```/m.exec(readme);
  assert.ok(block, 'README.md has no ```bash block');
  return block[1]!
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

describe("the README's first run", () => {
  let scratch: string | undefined;
  after(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('is two commands: one runs the product, one runs every test', async () => {
    const commands = firstBlockCommands(await readFile(path.join(repoRoot, 'README.md'), 'utf8'));
    assert.deepEqual(commands, ['npm ci && npm start', 'npm ci && npm test']);
    const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.ok(pkg.scripts.start && pkg.scripts.test, 'package.json has start and test scripts');
  });

  it('npm ci && npm start in a fresh clone, empty HOME, machine node: serves the page, stops on Ctrl+C', async (t) => {
    const commands = firstBlockCommands(await readFile(path.join(repoRoot, 'README.md'), 'utf8'));
    const startCommand = commands.find((c) => /\bnpm start\b/.test(c));
    assert.ok(startCommand, 'no `npm start` line in the first block');

    const machineNode = execFileSync('bash', ['-c', 'command -v node && node --version'], { env: { PATH: FRESH_PATH }, encoding: 'utf8' }).trim();
    t.diagnostic(`machine node: ${machineNode.replace('\n', ' ')}`);
    const npmCache = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim();

    scratch = await mkdtemp(path.join(os.tmpdir(), 'imgfleet-first-run-'));
    // mkdtemp's folder is 0700; as root the embedded PostgreSQL runs as the postgres user, which
    // must reach the clone's node_modules binaries, as it does in a clone under /work or /srv
    // (under a private folder the backend refuses with that advice: db/embedded-as-root.test.ts).
    await chmod(scratch, 0o755);
    const clone = path.join(scratch, 'imgfleet');
    const home = path.join(scratch, 'home');
    await mkdir(home);
    const head = execFileSync('git', ['-C', repoRoot, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    execFileSync('git', ['clone', '--quiet', '--no-checkout', repoRoot, clone]);
    execFileSync('git', ['-C', clone, 'checkout', '--quiet', '--detach', head]);

    const child = spawn('bash', ['-c', startCommand], {
      cwd: clone,
      // Its own process group, as a terminal's foreground job: Ctrl+C reaches every process in it.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        HOME: home,
        PATH: FRESH_PATH,
        npm_config_cache: npmCache,
        PORT: '0',
        DATA_DIR: path.join(scratch, 'data'),
        EMBEDDED_PG_PORT: String(20000 + Math.floor(Math.random() * 20000)),
      },
    });
    const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
    let output = '';
    const lines = createInterface({ input: child.stdout });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const giveUp = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), GIVE_UP_MS);
    try {
      const url = await new Promise<string>((resolve, reject) => {
        lines.on('line', (line) => {
          output += `${line}\n`;
          const m = /imgfleet is running at (http:\/\/\S+)/.exec(line);
          if (m) resolve(m[1]!);
        });
        void exit.then((how) => reject(new Error(`\`${startCommand}\` ended (${JSON.stringify(how)}) before printing its URL:\n${output}`)));
      });

      // The root script says which node it runs on: on an older machine node, the Node 24 it fetched into the empty HOME.
      const [nodePath, nodeVersion] = machineNode.split('\n') as [string, string];
      const expected = Number(/^v(\d+)/.exec(nodeVersion)?.[1]) >= 24 ? nodePath : `${home}/.cache/imgfleet/node24/package/bin/node`;
      const said = /^==> Node (v\d+)\.\S* \((.+)\)$/m.exec(output);
      assert.deepEqual(said?.slice(1), ['v24', expected], output);
      const page = await fetch(`${url}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      const html = await page.text();
      assert.match(html, /<title>imgfleet/);
      const script = /<script[^>]+src="([^"]+)"/.exec(html);
      assert.ok(script, 'the page loads its script');
      assert.equal((await fetch(new URL(script[1]!, `${url}/`))).status, 200);

      process.kill(-child.pid!, 'SIGINT');
      const how = await exit;
      assert.deepEqual(how, { code: 0, signal: null }, output);
      assert.match(output, /"msg":"drained"/);
      assert.doesNotMatch(output, /"level":(50|60)/, 'an error was logged');
    } finally {
      clearTimeout(giveUp);
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(-child.pid!, 'SIGKILL');
        await exit;
      }
    }
  });
});
