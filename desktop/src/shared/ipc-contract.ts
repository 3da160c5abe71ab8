/**
 * The IPC contract, end to end: for every channel in channels.ts, the zod
 * schema its arguments must pass (checked in the main process, because the
 * renderer is untrusted), the TypeScript type of its arguments and result,
 * and the payload types of main → renderer events. The handler map type is
 * derived from it, so a missing or mistyped handler is a compile error.
 */
import { z } from 'zod';
import type { EventChannel, InvokeChannel, SendChannel } from './channels.js';
import type {
  BackendCheck,
  BatchDeletion,
  BatchListResponse,
  ConnectionState,
  ImageSummary,
  IpcResult,
  MenuCommand,
  MetricsOverview,
  MetricsUpdate,
  PreviewResult,
  SavedBatch,
  ScanResult,
  Settings,
  Stats,
  StatusEvent,
  DeletedEvent,
  UploadOutcome,
  UploadProgress,
  UploadSummary,
  WriteOutcome,
  WriteSummary,
} from './models.js';
import type { ComparePictures } from './compare.js';
import { templateProblem } from './naming-template.js';
import { outputOptionsSchema } from '@imgfleet/backend/contract/output-options';
import { UPLOAD_CONCURRENCY } from './api-policy/index.js';

const none = z.object({}).strict();
const filePath = z.string().min(1).max(4096);
const imageId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const relativePath = z.string().min(1).max(4096);
const fileRef = z.object({ key: z.string().min(1).max(4096), path: filePath, relativePath: relativePath.optional() }).strict();
const uploadRef = fileRef.extend({ idempotencyKey: z.uuid().optional() }).strict();
const batchId = z.uuid();

/** A remembered batch (session:save, and the session file read back): only plain, bounded values. */
export const savedBatchSchema = z
  .object({
    batchId,
    files: z
      .array(
        z
          .object({
            key: z.string().min(1).max(4096),
            name: z.string().min(1).max(4096),
            size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
            path: filePath.optional(),
            relativePath: relativePath.optional(),
            id: imageId.nullable(),
            uploadKey: z.uuid().optional(),
          })
          .strict(),
      )
      .max(10_000),
  })
  .strict();

export const namingTemplateSchema = z.string().superRefine((value, ctx) => {
  const problem = templateProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * http(s) only. Not z.httpUrl(): that one insists on a domain name and refuses
 * 127.0.0.1, localhost and the cluster's IP addresses, the usual backends.
 */
export const backendUrlSchema = z
  .url({ protocol: /^https?$/, error: 'the backend URL must be an http:// or https:// URL' })
  .max(2048)
  .transform((u) => u.replace(/\/+$/, ''));

export const settingsPatchSchema = z
  .object({
    backendUrl: backendUrlSchema.optional(),
    apiToken: z.string().max(4096).optional(),
    namingTemplate: namingTemplateSchema.optional(),
    uploadConcurrency: z.number().int().min(UPLOAD_CONCURRENCY.min).max(UPLOAD_CONCURRENCY.max).optional(),
    // The built-in limits here; the panel checks the connected server's tighter ones before saving.
    outputOptions: outputOptionsSchema.optional(),
    keepDates: z.boolean().optional(),
    watchMode: z.enum(['upload', 'local']).optional(),
  })
  .strict();

export const invokeSchemas = {
  'settings:get': none,
  'settings:update': settingsPatchSchema,
  'files:pick': z.object({ folders: z.boolean() }).strict(),
  'files:scan': z.object({ paths: z.array(filePath).min(1).max(10_000) }).strict(),
  'preview:make': z.object({ path: filePath }).strict(),
  'upload:start': z.object({ batchId, files: z.array(uploadRef).min(1).max(10_000) }).strict(),
  'resize:local': z.object({ files: z.array(fileRef).min(1).max(10_000), batchId: batchId.optional() }).strict(),
  'compare:pictures': z.object({ path: filePath.optional(), id: imageId.optional() }).strict(),
  'watch:folder': z.object({ action: z.enum(['choose', 'stop']) }).strict(),
  'upload:cancel': none,
  'images:list': z.object({ batchId }).strict(),
  'images:gone': z.object({ ids: z.array(imageId).min(1).max(10_000) }).strict(),
  'images:retry': z.object({ id: imageId }).strict(),
  'images:delete': z.object({ id: imageId }).strict(),
  'images:picture': z.object({ id: imageId }).strict(),
  'batches:list': z.object({ limit: z.number().int().min(1).max(200), offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }).strict(),
  'batches:delete': z.object({ batchId }).strict(),
  'session:save': z.object({ batch: savedBatchSchema }).strict(),
  'session:restore': none,
  'download:images': z
    .object({
      items: z
        .array(
          z
            .object({ key: z.string().min(1).max(4096), id: imageId, name: z.string().min(1).max(4096), index: z.number().int().positive().optional() })
            .strict(),
        )
        .min(1)
        .max(10_000),
    })
    .strict(),
  'folder:choose': none,
  'folder:open': none,
  'events:watch': z.object({ batchId }).strict(),
  'metrics:watch': none,
  'metrics:unwatch': none,
  'stats:get': none,
  'backend:check': none,
  notify: z.object({ title: z.string().min(1).max(200), body: z.string().max(1000) }).strict(),
  'window:open-metrics': none,
} as const satisfies Record<InvokeChannel, z.ZodType>;

/** Arguments of the preload's one-way messages, validated in the main process like any request. */
export const sendSchemas = {
  'drop:paths': z.object({ paths: z.array(filePath).min(1).max(10_000) }).strict(),
} as const satisfies Record<SendChannel, z.ZodType>;

export type SendArgs = { [C in SendChannel]: z.input<(typeof sendSchemas)[C]> };

export type InvokeArgs = { [C in InvokeChannel]: z.input<(typeof invokeSchemas)[C]> };

export interface InvokeResults {
  'settings:get': Settings;
  'settings:update': Settings;
  /** null when the dialog was cancelled. */
  'files:pick': ScanResult | null;
  'files:scan': ScanResult;
  'preview:make': PreviewResult;
  'upload:start': UploadSummary;
  'upload:cancel': { cancelled: number };
  'images:list': ImageSummary[];
  /** The ids of those asked about that the backend no longer has (deleted). */
  'images:gone': number[];
  'images:retry': { id: number };
  'images:delete': { id: number };
  /** A small picture of the image's result, as a data: URL (for a card whose file this computer does not have). */
  'images:picture': { dataUrl: string };
  'batches:list': BatchListResponse;
  'batches:delete': BatchDeletion;
  /** How many files were remembered with their path (the others: only their names). */
  'session:save': { files: number; linked: number };
  /** The batch of the last session, each file marked present when it is still on disk with its size; null when there is none. */
  'session:restore': SavedBatch | null;
  /** folder null: the person cancelled the folder dialog. */
  'download:images': WriteSummary;
  'resize:local': WriteSummary;
  /** The original and the result (or its offline preview) at full size, for the before/after view. */
  'compare:pictures': ComparePictures;
  /** The watched folder after choosing one (unchanged when the dialog was cancelled) or stopping. */
  'watch:folder': { folder: string };
  'folder:choose': { folder: string | null };
  'folder:open': { folder: string };
  'events:watch': { batchId: string };
  'metrics:watch': MetricsOverview;
  'metrics:unwatch': Record<string, never>;
  'stats:get': Stats;
  'backend:check': BackendCheck;
  notify: Record<string, never>;
  'window:open-metrics': Record<string, never>;
}

export interface EventPayloads {
  'upload:progress': UploadProgress;
  'upload:result': UploadOutcome;
  'resize:progress': WriteOutcome;
  'download:progress': WriteOutcome;
  'events:status': StatusEvent;
  'events:deleted': DeletedEvent;
  'events:connection': ConnectionState;
  'metrics:update': MetricsUpdate;
  'metrics:connection': ConnectionState;
  'menu:command': { command: MenuCommand };
}

// Compile-time guard: every event channel has a payload type and nothing else does.
type _EventsCovered = [EventChannel] extends [keyof EventPayloads] ? ([keyof EventPayloads] extends [EventChannel] ? true : never) : never;
const _eventsCovered: _EventsCovered = true;

/** Who is asking: the Electron webContents, or the Playwright page in tests. */
export interface IpcSender {
  /** Stable per renderer (webContents.id); subscriptions are kept per sender. */
  readonly id: number;
  /** URL of the frame that sent the request, already checked by the caller. */
  readonly url: string;
  send<E extends EventChannel>(channel: E, payload: EventPayloads[E]): void;
  /** Called once when the renderer goes away, to drop its subscriptions. */
  onClosed(listener: () => void): void;
}

export type Handler<C extends InvokeChannel> = (sender: IpcSender, args: z.output<(typeof invokeSchemas)[C]>) => Promise<InvokeResults[C]>;

export type HandlerMap = { [C in InvokeChannel]: Handler<C> };

/** What the main process does with each one-way message (nothing to answer). */
export type ListenerMap = { [C in SendChannel]: (sender: IpcSender, args: z.output<(typeof sendSchemas)[C]>) => void };

/** The API the preload exposes as window.imgfleet (and the test bridge mirrors). */
export interface ImgfleetBridge {
  invoke<C extends InvokeChannel>(channel: C, args: InvokeArgs[C]): Promise<IpcResult<InvokeResults[C]>>;
  on<E extends EventChannel>(channel: E, listener: (payload: EventPayloads[E]) => void): () => void;
  /** The file system path of a dropped File (Electron's webUtils.getPathForFile). */
  pathForFile(file: File): string;
}
