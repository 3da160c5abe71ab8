/**
 * The in-memory status of polled images: a change heard while the database
 * is being read wins over what the read returns (else a poll could see
 * "pending" for ever), deletions and a lost LISTEN connection forget, and
 * nothing is answered from memory while not listening.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { StatusEvent } from '../../src/contract/api.js';
import type { Notifications } from '../../src/queue/notifications.js';
import { StatusCache, type CachedStatus } from '../../src/queue/status-cache.js';

class FakeNotifications extends EventEmitter {
  listening = true;
}

function event(id: number, status: StatusEvent['status'], processedAt: string | null = null): StatusEvent {
  return {
    id,
    batchId: 'b',
    filename: 'f.jpg',
    status,
    error: null,
    errorCode: null,
    width: null,
    height: null,
    workerId: null,
    processingMs: null,
    processedAt,
    at: new Date().toISOString(),
  };
}

describe('status cache', () => {
  it('a change heard during the database read wins over the read', async () => {
    const n = new FakeNotifications();
    const cache = new StatusCache(n as unknown as Notifications);
    const { promise: dbRead, resolve: finishRead } = Promise.withResolvers<CachedStatus>();
    const read = cache.get(1, () => dbRead);
    n.emit('status', event(1, 'completed', '2026-12-01T10:00:00.000Z'));
    finishRead({ status: 'pending', processedAt: null, error: null });
    assert.equal((await read)!.status, 'completed');
    assert.equal((await cache.get(1, async () => assert.fail('answered from memory')))!.status, 'completed');
  });

  it('follows changes of what it holds, forgets deletions, truncations and what it may have missed', async () => {
    const n = new FakeNotifications();
    const cache = new StatusCache(n as unknown as Notifications);
    let reads = 0;
    const load = async (): Promise<CachedStatus> => {
      reads++;
      return { status: 'processing', processedAt: null, error: null };
    };
    await cache.get(2, load);
    n.emit('status', event(2, 'failed'));
    assert.equal((await cache.get(2, load))!.status, 'failed');
    assert.equal(reads, 1);
    n.emit('deleted', 2);
    await cache.get(2, load);
    assert.equal(reads, 2, 'a deleted image is read again');
    n.emit('deleted', '*');
    await cache.get(2, load);
    assert.equal(reads, 3, 'TRUNCATE forgets everything');
    n.emit('connected');
    await cache.get(2, load);
    assert.equal(reads, 4, 'a new LISTEN connection may have missed changes');
    n.listening = false;
    await cache.get(2, load);
    assert.equal(reads, 5, 'not listening: always the database');
  });

  it('ignores changes of images nobody asked about', async () => {
    const n = new FakeNotifications();
    const cache = new StatusCache(n as unknown as Notifications);
    n.emit('status', event(3, 'completed'));
    let read = false;
    await cache.get(3, async () => {
      read = true;
      return { status: 'completed', processedAt: null, error: null };
    });
    assert.ok(read);
  });
});
