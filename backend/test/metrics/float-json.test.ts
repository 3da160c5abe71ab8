import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringifyWithFloats } from '../../src/metrics/float-json.js';
import { isFloatField } from '../../src/metrics/snapshot-contract.js';
import { pythonTypes } from './helpers.js';

describe('stringifyWithFloats', () => {
  it('writes integral values of float fields with a decimal point, and leaves integer fields alone', () => {
    const text = stringifyWithFloats({
      'cpu_percent-0': 12,
      'cpu_percent-1': 12.5,
      'virtual_memory-percent': 0,
      'virtual_memory-total': 1024,
      'app-throughput': -0,
      n_pids: 7,
      pod: 'p',
    });
    assert.equal(
      text,
      '{"cpu_percent-0":12.0,"cpu_percent-1":12.5,"virtual_memory-percent":0.0,"virtual_memory-total":1024,"app-throughput":0.0,"n_pids":7,"pod":"p"}',
    );
    assert.deepEqual(pythonTypes(text), {
      'cpu_percent-0': 'float',
      'cpu_percent-1': 'float',
      'virtual_memory-percent': 'float',
      'virtual_memory-total': 'int',
      'app-throughput': 'float',
      n_pids: 'int',
      pod: 'str',
    });
  });

  it('matches JSON.stringify for everything else, nested objects and arrays included', () => {
    const value = {
      a: [1, 'x', null, { 'cpu_percent-3': 4, b: true }],
      nested: { 'moving_average_cpu_percent-0': 50, count: 2, when: new Date(0) },
      skip: undefined,
      big: 1e21,
      bad: Number.NaN,
    };
    const text = stringifyWithFloats(value);
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(value)));
    assert.match(text, /"cpu_percent-3":4\.0/);
    assert.match(text, /"moving_average_cpu_percent-0":50\.0/);
    assert.match(text, /"count":2[,}]/);
    assert.match(text, /"big":1e\+21/);
    assert.doesNotMatch(text, /skip/);
  });

  it('knows which contract fields are floats', () => {
    for (const f of ['cpu_percent-0', 'cpu_percent-15', 'cpu_freq_current', 'virtual_memory-percent', 'app-avg_process_time', 'app-throughput']) {
      assert.ok(isFloatField(f), f);
    }
    for (const f of ['virtual_memory-total', 'n_pids', 'app-queue_size', 'net_io_counters_eth0-bytes_sent', 'timestamp']) {
      assert.ok(!isFloatField(f), f);
    }
  });
});
