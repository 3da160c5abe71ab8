/**
 * What the watched folder does with a photo it took, with the options and
 * output folder of the moment (read from the settings each time):
 * - `upload`: into the watched folder's own batch (so it is listed under
 *   "Recent batches"), then, when the cluster has made it (a live status
 *   event, or the image read once the stream is open, for a result that
 *   came before), its result is saved into the output folder as a download
 *   is, with the photo's dates when keepDates is on;
 * - `local`: "Resize locally" into the output folder.
 * Every stage is recorded in WatchState, so a restart resumes rather than
 * repeats (see watch-state.ts).
 */
import { randomUUID } from 'node:crypto';
import type { OutputOptions } from '@imgfleet/backend/contract/output-options';
import type { ResizeRules } from '@imgfleet/backend/imaging';
import type { StatusEvent } from '@imgfleet/backend/contract';
import { isRejection } from '../../shared/api-policy/index.js';
import { AppError } from './app-error.js';
import type { ApiClient } from './api-client.js';
import { downloadOne } from './downloader.js';
import { createEventsClient } from './events-client.js';
import type { WatchProcessor } from './folder-watcher.js';
import type { LiveStream } from './live-stream.js';
import { resizeOneLocally } from './local-resizer.js';
import { originalTimes } from './original-dates.js';
import { Uploader } from './uploader.js';
import type { WatchEntry, WatchState } from './watch-state.js';

export type WatchMode = 'upload' | 'local';

export interface WatchSettings {
  outputFolder: string;
  outputOptions: OutputOptions;
  keepDates: boolean;
}

export interface WatchProcessorDeps {
  mode: WatchMode;
  client: () => ApiClient;
  settings: () => WatchSettings;
  rules: ResizeRules;
  state: WatchState;
  reconnect?: { minDelayMs: number; maxDelayMs: number };
}

type FileRef = Parameters<WatchProcessor['process']>[0];

/** Waits for images of one batch to finish, on its live stream. */
class ResultWaiter {
  private stream: LiveStream | null = null;
  private readonly waiting = new Map<number, ((e: { status: string; error: string | null }) => void)[]>();
  private readonly rejects = new Set<(err: Error) => void>();
  private stopped = false;

  constructor(private readonly deps: WatchProcessorDeps) {}

  wait(id: number): Promise<{ status: string; error: string | null }> {
    return new Promise((resolve, reject) => {
      if (this.stopped) {
        reject(new AppError('CANCELLED', 'the watched folder stopped'));
        return;
      }
      this.rejects.add(reject);
      this.waiting.set(id, [
        ...(this.waiting.get(id) ?? []),
        (e) => {
          this.rejects.delete(reject);
          resolve(e);
        },
      ]);
      if (!this.stream) {
        this.stream = createEventsClient({
          client: this.deps.client,
          batchId: this.deps.state.batchId,
          onStatus: (event) => this.settle(event),
          onDeleted: () => undefined,
          // Events before the stream opened are not replayed: read each awaited image once it is open.
          onState: (state) => state.state === 'open' && void this.readAll(),
          ...(this.deps.reconnect ?? {}),
        });
        this.stream.start();
      } else if (this.stream.state.state === 'open') void this.read(id);
    });
  }

  /** Stops listening; every wait ends with CANCELLED (the file stays 'sent', resumed at the next start). */
  stop(): void {
    this.stopped = true;
    this.stream?.stop();
    this.stream = null;
    this.waiting.clear();
    for (const reject of this.rejects) reject(new AppError('CANCELLED', 'the watched folder stopped'));
    this.rejects.clear();
  }

  private settle(event: Pick<StatusEvent, 'id' | 'status' | 'error'>): void {
    if (event.status !== 'completed' && event.status !== 'failed') return;
    const resolvers = this.waiting.get(event.id);
    if (!resolvers) return;
    this.waiting.delete(event.id);
    for (const resolve of resolvers) resolve({ status: event.status, error: event.error ?? null });
  }

  private async readAll(): Promise<void> {
    await Promise.all([...this.waiting.keys()].map((id) => this.read(id)));
  }

  private async read(id: number): Promise<void> {
    const image = await this.deps
      .client()
      .image(id)
      .catch(() => null);
    if (image) this.settle({ id, status: image.status, error: image.error });
  }
}

export function createWatchProcessor(deps: WatchProcessorDeps): WatchProcessor & { stop(): void } {
  const uploader = new Uploader({ client: deps.client, concurrency: 2 });
  const waiter = new ResultWaiter(deps);
  const { state } = deps;

  const outputFolder = (): string => {
    const folder = deps.settings().outputFolder;
    if (!folder) throw new AppError('NO_OUTPUT_FOLDER', 'no output folder has been chosen yet');
    return folder;
  };

  const send = async (file: FileRef, entry: WatchEntry): Promise<WatchEntry> => {
    const summary = await uploader.upload(
      state.batchId,
      [{ key: file.path, path: file.path, relativePath: file.relativePath, idempotencyKey: entry.idempotencyKey! }],
      {
        outputOptions: deps.settings().outputOptions,
      },
    );
    const outcome = summary.outcomes[0];
    if (!outcome) throw new AppError('INTERNAL', `no upload outcome for ${file.path}`);
    if (!outcome.ok) {
      // Refused for its content: it can only fail again. Otherwise (offline …) it stays 'sending' for the next start.
      if (isRejection(outcome.code)) return record(file, { ...entry, stage: 'failed', error: outcome.error });
      throw new AppError(outcome.code, outcome.error);
    }
    return finish(file, await record(file, { ...entry, stage: 'sent', id: outcome.result.id }));
  };

  const finish = async (file: FileRef, entry: WatchEntry): Promise<WatchEntry> => {
    const id = entry.id!;
    const result = await waiter.wait(id);
    if (result.status === 'failed') return record(file, { ...entry, stage: 'failed', error: result.error ?? 'failed on the cluster' });
    const settings = deps.settings();
    const written = await downloadOne(
      deps.client(),
      { key: file.path, id, name: file.relativePath },
      {
        folder: outputFolder(),
        options: settings.outputOptions,
        ...(settings.keepDates ? { timesOf: () => originalTimes(file.path) } : {}),
      },
    );
    if (!written.ok) throw new AppError(written.code, written.error);
    return record(file, { ...entry, stage: 'done', result: written.path });
  };

  const record = async (file: FileRef, entry: WatchEntry): Promise<WatchEntry> => {
    await state.set(file.path, entry);
    return entry;
  };

  const resizeHere = async (file: FileRef, entry: WatchEntry): Promise<WatchEntry> => {
    const settings = deps.settings();
    const outcome = await resizeOneLocally(
      { key: file.path, path: file.path, relativePath: file.relativePath },
      { folder: outputFolder(), options: settings.outputOptions, rules: deps.rules, keepDates: settings.keepDates },
    );
    return record(file, outcome.ok ? { ...entry, stage: 'done', result: outcome.path } : { ...entry, stage: 'failed', error: outcome.error });
  };

  let stopped = false;
  const running = (): void => {
    if (stopped) throw new AppError('CANCELLED', 'the watched folder stopped');
  };

  return {
    async process(file, stamp) {
      running();
      if (deps.mode === 'local') return resizeHere(file, { ...stamp, stage: 'sending' });
      // Remembered before it is sent, with the key a resumed upload sends again.
      return send(file, await record(file, { ...stamp, stage: 'sending', idempotencyKey: randomUUID() }));
    },
    async resume(file, entry) {
      running();
      if (entry.stage === 'sent' && entry.id !== undefined) return finish(file, entry);
      if (entry.idempotencyKey) return send(file, entry);
      return resizeHere(file, entry);
    },
    stop() {
      stopped = true;
      uploader.cancel();
      waiter.stop();
    },
  };
}
