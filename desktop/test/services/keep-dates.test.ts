/**
 * "Keep the originals' dates" for results downloaded from the cluster,
 * through the real main-process handlers and a real backend: a result saved
 * for a file on this computer gets the file's modification time; with the
 * setting off (or for an image this computer has no file of) it is written
 * now. ("Resize locally" is covered in inputs-and-dates.test.ts.)
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dispatch } from '../../src/main/ipc-dispatch.js';
import { createMainHandlers, type MainHandlers } from '../../src/main/handlers.js';
import type { IpcSender } from '../../src/shared/ipc-contract.js';
import { ApiClient } from '../../src/main/services/api-client.js';
import { SessionStore } from '../../src/main/services/session-store.js';
import { SettingsStore } from '../../src/main/services/settings-store.js';
import { writePhotos } from '../support/fixtures.js';
import { removeDir, tempDir } from '../support/paths.js';
import { startTestBackend, type TestBackend } from '../support/test-backend.js';

const sender: IpcSender = { id: 1, url: 'test://', send: () => undefined, onClosed: () => undefined };

async function call<T>(main: MainHandlers, channel: string, args: unknown): Promise<T> {
  const reply = (await dispatch(main.handlers, channel, sender, args)) as { ok: true; value: T } | { ok: false; error: { message: string } };
  if (!reply.ok) throw new Error(reply.error.message);
  return reply.value;
}

describe("downloaded results keep their original's dates", () => {
  let backend: TestBackend;
  let work: string;
  let main: MainHandlers;
  let settings: SettingsStore;
  let photo: string;
  let id: number;
  const taken = new Date('2018-06-07T08:09:10Z');

  before(async () => {
    work = await tempDir('keep-dates');
    backend = await startTestBackend({ POD_NAME: 'keep-dates' });
    [photo] = (await writePhotos(path.join(work, 'in'), [{ name: 'old.jpg', width: 1200, height: 900, seed: 5 }])) as [string];
    await fs.utimes(photo, taken, taken);
    settings = await SettingsStore.open(path.join(work, 'user'));
    await settings.update({ backendUrl: backend.url, outputFolder: path.join(work, 'out') });
    main = createMainHandlers({
      settings,
      session: SessionStore.in(path.join(work, 'user')),
      dialogs: { pickPaths: async () => [photo], chooseFolder: async () => null },
      openFolder: async () => undefined,
      notify: () => undefined,
      openMetricsWindow: () => undefined,
    });
    // The backend runs in this process: its dispatcher says how each image ended, once stored.
    const outcomes = new Map<number, string>();
    let heard = (): void => undefined;
    backend.backend.dispatcher.onOutcome((outcome) => {
      outcomes.set(outcome.id, outcome.status);
      heard();
    });
    // Picked in the (test's) open dialog: the file becomes one the handlers may read.
    await call(main, 'files:pick', { folders: false });
    const summary = await call<{ outcomes: { ok: boolean; result: { id: number } }[] }>(main, 'upload:start', {
      batchId: crypto.randomUUID(),
      files: [{ key: photo, path: photo }],
    });
    id = summary.outcomes[0]!.result.id;
    const status =
      outcomes.get(id) ??
      (await new Promise<string>((resolve) => {
        heard = () => {
          const ended = outcomes.get(id);
          if (ended !== undefined) resolve(ended);
        };
      }));
    assert.notEqual(status, 'failed');
    assert.equal((await new ApiClient({ baseUrl: backend.url }).image(id)).status, 'completed');
  });
  after(async () => {
    main?.dispose();
    await backend?.stop();
    await removeDir(work);
  });

  const download = async (key: string): Promise<string> => {
    const summary = await call<{ results: { ok: boolean; path: string }[] }>(main, 'download:images', { items: [{ key, id, name: 'old.jpg' }] });
    assert.ok(summary.results[0]?.ok);
    return summary.results[0].path;
  };

  it("is on by default: the result gets the photo's modification time", async () => {
    assert.equal(settings.get().keepDates, true);
    const written = await download(photo);
    assert.equal((await fs.stat(written)).mtime.getTime(), taken.getTime());
  });

  it('leaves a result without a file here, or with the setting off, dated now', async () => {
    const elsewhere = await download(`server:batch:${id}`);
    assert.ok((await fs.stat(elsewhere)).mtime.getTime() > taken.getTime() + 86_400_000);
    await settings.update({ keepDates: false });
    const fresh = await download(photo);
    assert.ok((await fs.stat(fresh)).mtime.getTime() > taken.getTime() + 86_400_000);
  });
});
