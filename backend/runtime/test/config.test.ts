import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULTS, RuntimeConfigError, loadRuntimeConfig, resolveRuntimeConfig } from '../src/config.js';
import { isEmptyResult, resultToJson } from '../src/json-output.js';
import { parseKeyPattern } from '../src/key-pattern.js';

describe('runtime configuration', () => {
  test('the course variables alone give the course defaults', () => {
    const config = loadRuntimeConfig({
      REDIS_HOST: '10.0.0.5',
      REDIS_PORT: '6380',
      REDIS_INPUT_KEY: 'metrics',
      REDIS_OUTPUT_KEY: 'ifs4-proj3-output',
    });
    assert.equal(config.redisUrl, 'redis://10.0.0.5:6380');
    assert.equal(config.redisHost, '10.0.0.5');
    assert.equal(config.redisPort, 6380);
    assert.equal(config.inputKey, 'metrics');
    assert.equal(config.outputKey, 'ifs4-proj3-output');
    assert.equal(config.intervalSeconds, 5);
    assert.equal(config.functionPath, '/opt/usermodule.py');
    assert.equal(config.handlerFunction, undefined);
    assert.equal(config.callOnChangeOnly, true);
    assert.equal(config.handlerTimeoutSeconds, 10);
    assert.equal(config.pythonBin, 'python3');
    assert.equal(config.healthPort, 8081);
    assert.deepEqual(config.requirements, []);
    assert.equal(config.requirementsFile, undefined);
  });

  test('REDIS_URL wins and context.host/port come from it', () => {
    const config = loadRuntimeConfig({ REDIS_URL: 'redis://cache.local:7000/2', REDIS_HOST: 'ignored', REDIS_INPUT_KEY: 'in', REDIS_OUTPUT_KEY: 'o' });
    assert.equal(config.redisUrl, 'redis://cache.local:7000/2');
    assert.equal(config.redisHost, 'cache.local');
    assert.equal(config.redisPort, 7000);
  });

  test('MONITORING_PERIOD is an alias of INTERVAL and fractions are accepted', () => {
    assert.equal(loadRuntimeConfig({ REDIS_INPUT_KEY: 'in', REDIS_OUTPUT_KEY: 'o', MONITORING_PERIOD: '0.2' }).intervalSeconds, 0.2);
    assert.equal(loadRuntimeConfig({ REDIS_INPUT_KEY: 'in', REDIS_OUTPUT_KEY: 'o', INTERVAL: '1.5' }).intervalSeconds, 1.5);
    assert.equal(loadRuntimeConfig({ REDIS_INPUT_KEY: 'in', REDIS_OUTPUT_KEY: 'o', INTERVAL: '2', MONITORING_PERIOD: '2' }).intervalSeconds, 2);
    assert.throws(
      () => loadRuntimeConfig({ REDIS_INPUT_KEY: 'in', REDIS_OUTPUT_KEY: 'o', INTERVAL: '2', MONITORING_PERIOD: '3' }),
      (err: Error) => err instanceof RuntimeConfigError && err.message.includes('INTERVAL') && err.message.includes('MONITORING_PERIOD'),
    );
  });

  test('the extras are read', () => {
    const config = loadRuntimeConfig({
      REDIS_OUTPUT_KEY: 'o',
      REDIS_INPUT_KEY: 'metrics:*',
      HEALTH_PORT: '9100',
      HANDLER_OUTPUT_MAX_BYTES: '4096',
      REQUIREMENTS: 'requests>=2.28, numpy\npandas',
      NEW_REQUERIMENTS: '/opt/requirements.txt',
      PYTHON_PACKAGES_DIR: '/tmp/pkgs',
      FUNCTION_PATH: '/opt/usermodule.py',
      FUNCTION_ZIP: '/opt/function.zip',
      HANDLER_FUNCTION: 'handler_module.handler',
      CALL_ON_CHANGE_ONLY: 'false',
      HANDLER_TIMEOUT: '0.5',
      ZIP_MAX_BYTES: '1024',
      ZIP_MAX_ENTRIES: '10',
      OUTPUT_TTL: '30',
      PYTHON_BIN: '/usr/bin/python3',
    });
    assert.equal(config.inputKey, 'metrics:*');
    assert.equal(config.functionPath, '/opt/function.zip', 'FUNCTION_ZIP takes precedence');
    assert.equal(config.handlerFunction, 'handler_module.handler');
    assert.equal(config.callOnChangeOnly, false);
    assert.equal(config.handlerTimeoutSeconds, 0.5);
    assert.equal(config.zipMaxBytes, 1024);
    assert.equal(config.zipMaxEntries, 10);
    assert.equal(config.outputTtlSeconds, 30);
    assert.equal(config.pythonBin, '/usr/bin/python3');
    assert.equal(config.healthPort, 9100);
    assert.equal(config.handlerOutputMaxBytes, 4096);
    assert.deepEqual(config.requirements, ['requests>=2.28', 'numpy', 'pandas']);
    assert.equal(config.requirementsFile, '/opt/requirements.txt');
    assert.equal(config.pythonPackagesDir, '/tmp/pkgs');
  });

  test('empty strings (a ConfigMap with blank values) count as unset', () => {
    const config = loadRuntimeConfig({ REDIS_INPUT_KEY: 'in', REDIS_OUTPUT_KEY: 'o', INTERVAL: '', HANDLER_FUNCTION: ' ', REDIS_PORT: '' });
    assert.equal(config.intervalSeconds, 5);
    assert.equal(config.handlerFunction, undefined);
    assert.equal(config.redisPort, 6379);
  });

  for (const [name, value] of [
    ['INTERVAL', 'abc'],
    ['INTERVAL', '0'],
    ['MONITORING_PERIOD', '-1'],
    ['REDIS_PORT', '99999'],
    ['REDIS_PORT', 'x'],
    ['HANDLER_FUNCTION', 'my-module.handler'],
    ['CALL_ON_CHANGE_ONLY', 'maybe'],
    ['HANDLER_TIMEOUT', 'forever'],
    ['ZIP_MAX_ENTRIES', '1.5'],
    ['REDIS_URL', 'http://x'],
    ['HANDLER_MEMORY_MB', '16'],
    ['HANDLER_MEMORY_MB', 'lots'],
  ] as const) {
    test(`a bad ${name}=${value} is refused, naming the variable`, () => {
      assert.throws(
        () => loadRuntimeConfig({ REDIS_INPUT_KEY: 'in', REDIS_OUTPUT_KEY: 'o', [name]: value }),
        (err: Error) => err instanceof RuntimeConfigError && err.message.includes(`${name}=`),
      );
    });
  }

  test("METRICS_KEY_PREFIX is read; unset, the keys are the course's", () => {
    assert.equal(loadRuntimeConfig({ REDIS_INPUT_KEY: 'metrics:*', REDIS_OUTPUT_KEY: 'o' }).metricsKeyPrefix, '');
    assert.equal(loadRuntimeConfig({ REDIS_INPUT_KEY: 'metrics:*', METRICS_KEY_PREFIX: 'staging:' }).metricsKeyPrefix, 'staging:');
  });

  test("HANDLER_MEMORY_MB bounds each handler process, by default under the runtime pod's 256 Mi; 0: no limit", () => {
    assert.equal(loadRuntimeConfig({ REDIS_INPUT_KEY: 'in' }).handlerMemoryMb, 96);
    assert.equal(loadRuntimeConfig({ REDIS_INPUT_KEY: 'in', HANDLER_MEMORY_MB: '96' }).handlerMemoryMb, 96);
    assert.equal(loadRuntimeConfig({ REDIS_INPUT_KEY: 'in', HANDLER_MEMORY_MB: '0' }).handlerMemoryMb, 0);
  });

  test('REDIS_INPUT_KEY is required, as the course runtime needs it; REDIS_OUTPUT_KEY is not', () => {
    assert.throws(
      () => loadRuntimeConfig({ REDIS_HOST: 'h', REDIS_OUTPUT_KEY: 'o' }),
      (err: Error) => err instanceof RuntimeConfigError && err.message.includes('REDIS_INPUT_KEY: is required'),
    );
    assert.equal(loadRuntimeConfig({ REDIS_INPUT_KEY: 'in' }).outputKey, undefined);
  });

  test('the defaults are applied in one place: the environment and the programmatic options agree', () => {
    const fromEnv = loadRuntimeConfig({ REDIS_URL: 'redis://h:7000', REDIS_INPUT_KEY: 'in', REDIS_OUTPUT_KEY: 'o' });
    const fromOptions = resolveRuntimeConfig({ redisUrl: 'redis://h:7000', inputKey: 'in', outputKey: 'o' });
    assert.deepEqual(fromEnv, fromOptions);
    for (const [name, value] of Object.entries(DEFAULTS)) {
      assert.deepEqual(fromEnv[name as keyof typeof fromEnv], value, name);
    }
  });
});

describe('input key patterns', () => {
  test('a plain key is one context writing to the output key itself', () => {
    const p = parseKeyPattern('metrics', 'out');
    assert.equal(p.isGlob, false);
    assert.equal(p.outputKeyFor('metrics'), 'out');
  });

  test('the output suffix is what the wildcards matched', () => {
    const p = parseKeyPattern('metrics:*', 'derived');
    assert.equal(p.isGlob, true);
    assert.equal(p.outputKeyFor('metrics:pod-a'), 'derived:pod-a');
    const q = parseKeyPattern('node:*:cpu', 'avg');
    assert.equal(q.outputKeyFor('node:n1:cpu'), 'avg:n1');
    const r = parseKeyPattern('m[ab]?:x', 'o');
    assert.equal(r.isGlob, true);
    assert.equal(r.outputKeyFor('ma7:x'), 'o:a7');
  });

  test('a prefix is literal, goes before input and output keys, and the suffix is what follows it', () => {
    const p = parseKeyPattern('metrics:*', 'derived', 'staging:');
    assert.equal(p.pattern, 'staging:metrics:*');
    assert.equal(p.outputKeyFor('staging:metrics:pod-a'), 'staging:derived:pod-a');
    assert.equal(p.isOwnKey('staging:derived:pod-a'), true);
    assert.equal(p.isOwnKey('derived:pod-a'), false);
    const odd = parseKeyPattern('metrics:*', 'derived', 'a*[b]?\\:');
    assert.equal(odd.pattern, 'a\\*\\[b]\\?\\\\:metrics:*');
    assert.equal(odd.outputKeyFor('a*[b]?\\:metrics:pod-a'), 'a*[b]?\\:derived:pod-a');
    const single = parseKeyPattern('metrics', 'derived', 'p*:');
    assert.equal(single.isGlob, false);
    assert.equal(single.inputKey, 'p*:metrics');
    assert.equal(single.outputKeyFor('p*:metrics'), 'p*:derived');
  });

  test('an escaped wildcard is a literal key', () => {
    assert.equal(parseKeyPattern('weird\\*key', 'o').isGlob, false);
  });

  test("the runtime's own output keys never count as inputs", () => {
    const p = parseKeyPattern('derived*', 'derived');
    assert.equal(p.isOwnKey('derived'), true);
    assert.equal(p.isOwnKey('derived:pod-a'), true);
    assert.equal(p.isOwnKey('derived:pod-a:stats'), true);
    assert.equal(p.isOwnKey('derivedX'), false);
  });
});

describe('JS handler results', () => {
  test('empty results follow Python truthiness', () => {
    for (const v of [null, undefined, false, 0, '', Number.NaN, [], {}]) assert.equal(isEmptyResult(v), true, String(v));
    for (const v of [true, 1, 'x', [0], { a: 0 }]) assert.equal(isEmptyResult(v), false, JSON.stringify(v));
  });

  test('plain data is written as JSON', () => {
    assert.equal(resultToJson({ a: 1.5, b: [true, null, 'x'], c: { d: undefined } }), '{"a":1.5,"b":[true,null,"x"],"c":{}}');
    assert.equal(resultToJson(null), null);
    assert.equal(resultToJson({}), null);
  });

  test('values JSON would silently mangle are refused', () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    const cases: [unknown, RegExp][] = [
      [{ f: () => 1 }, /\$\.f is a function/],
      [{ s: new Set([1]) }, /\$\.s is a Set/],
      [{ m: new Map() }, /\$\.m is a Map/],
      [{ n: Number.NaN }, /\$\.n is NaN/],
      [{ list: [1, Infinity] }, /\$\.list\[1\] is Infinity/],
      [{ big: 10n }, /bigint/],
      [circular, /circular/],
      [new Set([1]), /\$ is a Set/],
    ];
    for (const [value, message] of cases) {
      assert.throws(
        () => resultToJson(value),
        (err: Error & { kind?: string }) => err.kind === 'invalid_output' && message.test(err.message),
      );
    }
  });
});
