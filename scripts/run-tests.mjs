#!/usr/bin/env node
// Runs every compiled test file (<workspace>/dist/test/**/*.test.js) with
// node's own test runner. Files run two at a time: the suites start real
// Postgres databases, backend processes and browsers on a 2-core machine.
// Before running, scripts/ensure-test-services.sh makes sure PostgreSQL,
// Redis, python3 and Chromium are there (installing/starting them as root).
// Usage: node scripts/run-tests.mjs [substring filter...]
import { spawnSync, execFileSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const filters = process.argv.slice(2);

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'support' ? [] : walk(full);
    return name.endsWith('.test.js') ? [full] : [];
  });
}

const files = ['backend/runtime', 'backend', 'desktop']
  .flatMap((ws) => walk(path.join(root, ws, 'dist', 'test')))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

if (files.length === 0) {
  console.error('no test files found (did the build run?)');
  process.exit(1);
}

const exports = execFileSync('bash', [path.join(root, 'scripts', 'ensure-test-services.sh')], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
});
for (const line of exports.split('\n')) {
  const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
  if (m && process.env[m[1]] === undefined) process.env[m[1]] = m[2];
}

const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...files], {
  stdio: 'inherit',
  cwd: root,
  env: process.env,
});
process.exit(result.status ?? 1);
