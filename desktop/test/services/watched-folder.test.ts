/**
 * The watched folder against the real backend, with real files and
 * fs.watch: a photo copied in is uploaded and its result saved, once; a
 * second watcher over the same state (a restart) does not take it again
 * but takes what arrived meanwhile; a half-copied photo is not taken until
 * the rest is written; "local" mode resizes here. Waits are on the
 * watcher's own events, never on the clock.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_OUTPUT_OPTIONS } from '@imgfleet/backend/contract/output-options';
import { DEFAULT_RULES } from '@imgfleet/backend/imaging';
import { ApiClient } from '../../src/main/services/api-client.js';
import { FolderWatcher, type WatchEvent } from '../../src/main/services/folder-watcher.js';
import { createWatchProcessor, type WatchMode } from '../../src/main/services/watch-processor.js';
import { WatchState } from '../../src/main/services/watch-state.js';
import { images } from '../support/backend-support.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';

interface Running {
  watcher: FolderWatcher;
  events: WatchEvent[];
  /** Resolves with the first event (already seen or to come) that matches. */
  next(match: (e: WatchEvent) => boolean): Promise<WatchEvent>;
  stop(): Promise<void>;
}

describe('watched folder', () => {
  let backend: TestBackend;
  let work: string;
  let inbox: string;
  let output: string;
  let stateFile: string;
  let photo: Buffer;

  before(async () => {
    work = await tempDir('watched-folder');
    inbox = path.join(work, 'inbox');
    output = path.join(work, 'out');
    stateFile = path.join(work, 'user', 'watched-folder.json');
    await fs.mkdir(inbox, { recursive: true });
    photo = await images.makeImage({ width: 1600, height: 1200, seed: 21 });
    backend = await startTestBackend({ POD_NAME: 'watched-folder' });
  });
  after(async () => {
    await backend?.stop();
    await removeDir(work);
  });

  async function startWatching(mode: WatchMode = 'upload', file = stateFile, folder = inbox, out = output): Promise<Running> {
    const state = await WatchState.open(file);
    const client = new ApiClient({ baseUrl: backend.url });
    const processor = createWatchProcessor({
      mode,
      client: () => client,
      settings: () => ({ outputFolder: out, outputOptions: { ...DEFAULT_OUTPUT_OPTIONS, template: '{name}.{ext}' }, keepDates: true }),
      rules: DEFAULT_RULES,
      state,
      reconnect: { minDelayMs: 100, maxDelayMs: 500 },
    });
    const events: WatchEvent[] = [];
    const waiters: { match: (e: WatchEvent) => boolean; resolve: (e: WatchEvent) => void }[] = [];
    const watcher = new FolderWatcher({
      folder,
      state,
      processor,
      // Short, so the test is quick; nothing below depends on its length.
      settleMs: 150,
      ignore: [out],
      onEvent: (event) => {
        events.push(event);
        for (const w of [...waiters]) {
          if (w.match(event)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(event);
          }
        }
      },
    });
    const next = (match: (e: WatchEvent) => boolean) =>
      new Promise<WatchEvent>((resolve) => {
        const seen = events.find(match);
        if (seen) resolve(seen);
        else waiters.push({ match, resolve });
      });
    await watcher.start();
    return {
      watcher,
      events,
      next,
      stop: () => watcher.stop(),
    };
  }

  const finishedFor = (file: string) => (e: WatchEvent) => (e.type === 'finished' || e.type === 'error') && e.path === file;

  it('uploads a photo copied in and saves its result, once; a restart does not take it again', async () => {
    const first = await startWatching();
    const taken = new Date('2017-05-06T07:08:09Z');
    const source = path.join(work, 'beach.jpg');
    await fs.writeFile(source, photo);
    await fs.utimes(source, taken, taken);
    const target = path.join(inbox, 'beach.jpg');
    // Copied as rsync does (a hidden part file, its times set, renamed): a copy keeping the dates changes them after the bytes.
    const part = path.join(inbox, '.beach.jpg.part');
    await fs.copyFile(source, part);
    await fs.utimes(part, taken, taken);
    await fs.rename(part, target);
    const done = await first.next(finishedFor(target));
    assert.equal(done.type, 'finished', JSON.stringify(done));
    assert.ok(done.type === 'finished' && done.entry.stage === 'done', JSON.stringify(done));
    const result = done.type === 'finished' ? done.entry.result! : '';
    assert.equal(result, path.join(output, 'beach.jpg'));
    const meta = await sharp(result).metadata();
    assert.deepEqual([meta.width, meta.height], [800, 600]);
    assert.equal((await fs.stat(result)).mtime.getTime(), taken.getTime(), "the photo's date kept");
    // Touched without a change (same size and time): not taken again.
    await fs.utimes(target, taken, taken);
    // A second photo proves the watcher went on looking after that event.
    const other = path.join(inbox, 'second.jpg');
    await fs.writeFile(other, await images.makeImage({ width: 1200, height: 900, seed: 22 }));
    await first.next(finishedFor(other));
    await first.stop();
    assert.equal(first.events.filter((e) => e.type === 'taken' && e.path === target).length, 1);

    // A restart: the same state, a file that arrived while it was stopped.
    const late = path.join(inbox, 'late.jpg');
    await fs.writeFile(late, await images.makeImage({ width: 1000, height: 1000, seed: 23 }));
    const second = await startWatching();
    await second.next(finishedFor(late));
    await second.stop();
    assert.deepEqual(
      second.events.filter((e) => e.type === 'taken').map((e) => e.type === 'taken' && path.basename(e.path)),
      ['late.jpg'],
    );

    const client = new ApiClient({ baseUrl: backend.url });
    const state = await WatchState.open(stateFile);
    const listed = await client.listBatch(state.batchId);
    assert.deepEqual(listed.map((i) => i.filename).sort(), ['beach.jpg', 'late.jpg', 'second.jpg'], 'each uploaded once');
    assert.deepEqual((await fs.readdir(output)).sort(), ['beach.jpg', 'late.jpg', 'second.jpg']);
  });

  it('does not take a photo still being copied until it is complete', async () => {
    const running = await startWatching();
    const target = path.join(inbox, 'slow.jpg');
    const half = Math.floor(photo.length / 2);
    const handle = await fs.open(target, 'w');
    await handle.write(photo.subarray(0, half));
    const waiting = await running.next((e) => e.type === 'incomplete' && e.path === target);
    assert.equal(waiting.type === 'incomplete' && waiting.size, half);
    assert.ok(!running.events.some((e) => e.type === 'taken' && e.path === target), 'not taken half-written');
    await handle.write(photo.subarray(half));
    await handle.close();
    const done = await running.next(finishedFor(target));
    await running.stop();
    assert.ok(done.type === 'finished' && done.entry.stage === 'done', JSON.stringify(done));
    assert.equal(running.events.filter((e) => e.type === 'taken' && e.path === target).length, 1);
  });

  it('resizes here in "local" mode, results in the output folder, a folder moved in too', async () => {
    const folder = path.join(work, 'local-in');
    const out = path.join(work, 'local-out');
    await fs.mkdir(path.join(folder, 'day 1'), { recursive: true });
    const running = await startWatching('local', path.join(work, 'user', 'local-state.json'), folder, out);
    const target = path.join(folder, 'day 1', 'tree.jpg');
    await fs.writeFile(target, photo);
    const done = await running.next(finishedFor(target));
    // A folder moved in whole: one event for the folder, its photos found inside it.
    const trip = path.join(work, 'trip');
    await fs.mkdir(trip);
    await fs.writeFile(path.join(trip, 'a.jpg'), await images.makeImage({ width: 900, height: 600, seed: 24 }));
    await fs.rename(trip, path.join(folder, 'trip'));
    const moved = await running.next(finishedFor(path.join(folder, 'trip', 'a.jpg')));
    await running.stop();
    assert.ok(moved.type === 'finished' && moved.entry.result === path.join(out, 'trip', 'a.jpg'), JSON.stringify(moved));
    assert.ok(done.type === 'finished' && done.entry.stage === 'done', JSON.stringify(done));
    // The folders below the watched one are kept, as for a dropped folder (keepFolders).
    assert.equal(done.type === 'finished' && done.entry.result, path.join(out, 'day 1', 'tree.jpg'));
  });
});
