/** Sizes as people read them (decimal units, as macOS and most Linux file managers show them), and network failures in words. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { humanNetworkReason } from '../../src/shared/api-policy/index.js';
import { formatBytes } from '../../src/renderer/ui/format.js';
import { savingText } from '../../src/renderer/app/cards-view.js';

describe('sizes and reasons as people read them', () => {
  it('shows sizes in decimal units: kB, MB, GB', () => {
    assert.equal(formatBytes(999), '999 B');
    assert.equal(formatBytes(1000), '1.0 kB');
    assert.equal(formatBytes(312_000), '312 kB');
    assert.equal(formatBytes(1_500_000), '1.5 MB');
    assert.equal(formatBytes(4_100_000), '4.1 MB');
    assert.equal(formatBytes(52_428_800), '52.4 MB');
    assert.equal(formatBytes(2_000_000_000), '2.0 GB');
    assert.equal(savingText(4_100_000, 312_000), '4.1 MB → 312 kB (−92%)');
  });

  it('says why a connection failed in words, never as the program printed it', () => {
    assert.equal(
      humanNetworkReason('TypeError: fetch failed: connect ECONNREFUSED 127.0.0.1:8080'),
      'nothing answers at that address; is the backend running?',
    );
    assert.equal(humanNetworkReason('getaddrinfo ENOTFOUND imgfleet.example'), 'its host name cannot be found');
    assert.equal(humanNetworkReason('read ECONNRESET'), 'the connection was cut');
    assert.equal(humanNetworkReason('connect ETIMEDOUT 10.0.0.1:80'), 'it did not answer in time');
    assert.equal(humanNetworkReason('TypeError: Failed to fetch'), 'the connection failed');
    assert.equal(humanNetworkReason('the backend answered 502'), 'the backend answered 502', 'a sentence already is one');
    assert.equal(humanNetworkReason(undefined), 'no connection');
  });
});
