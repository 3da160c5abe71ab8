/**
 * The backend's HTTP API as typed calls (axios), with the optional bearer
 * token on every request and every failure turned into an AppError: OFFLINE
 * when the backend could not be reached (the UI shows its offline state),
 * HTTP_ERROR-family codes from the backend's `{error, code}` body otherwise.
 */
import { openAsBlob } from 'node:fs';
import path from 'node:path';
import axios, { AxiosError, type AxiosInstance, type AxiosProgressEvent } from 'axios';
import type { BatchDeletion, BatchListResponse, BatchSummary, ImageListResponse, ImageSummary, Stats } from '@imgfleet/backend/contract';
import { IDEMPOTENCY_HEADER, IMAGE_NOT_FOUND, failureFromResponse, isTransientFailure, offlineFailure, readAllPages } from '../../shared/api-policy/index.js';
import type { MetricsOverview, MetricsSample, OutputOptions } from '../../shared/models.js';
import { AppError } from './app-error.js';

export interface ApiClientOptions {
  baseUrl: string;
  token?: string;
  /** For the small JSON requests; uploads and downloads are bounded by progress instead. */
  timeoutMs?: number;
}

export interface PostImageOptions {
  signal: AbortSignal;
  onProgress: (loaded: number, total: number | undefined) => void;
  /** Sent as `Idempotency-Key`: the same on every retry of one file's upload, so the backend stores it once. */
  idempotencyKey: string;
  /** The batch's output options, sent as the multipart `options` field (before the file). */
  outputOptions?: OutputOptions | undefined;
  /** The multipart file name; the path's base name otherwise. */
  fileName?: string | undefined;
}

/** What one upload request got: the backend's answer whatever its status (the shared upload queue judges it). */
export interface PostImageResult {
  status: number;
  body: unknown;
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly http: AxiosInstance;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token ? options.token : undefined;
    this.http = axios.create({
      baseURL: this.baseUrl,
      timeout: options.timeoutMs ?? 15_000,
      headers: this.authHeaders(),
      // Node's http adapter; keeps big bodies streamed.
      adapter: 'http',
      maxRedirects: 0,
    });
  }

  authHeaders(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  url(pathname: string): string {
    return `${this.baseUrl}${pathname}`;
  }

  /**
   * Sends one file as a streamed multipart body (read from disk as it is
   * sent, never held in memory whole) and gives back the answer as it came,
   * error statuses included. Throws when no answer came (see
   * noAnswerReason), or the file cannot be read.
   */
  async postImage(filePath: string, batchId: string, options: PostImageOptions): Promise<PostImageResult> {
    const form = new FormData();
    // Before the file: the server validates the options before it stores anything.
    if (options.outputOptions) form.append('options', JSON.stringify(options.outputOptions));
    // A folder drop's relative path (`trip/day 1/IMG_1.JPG`) as the file name: the server's ZIP keeps the folders.
    form.append('images', await openAsBlob(filePath, { type: 'image/jpeg' }), options.fileName ?? path.basename(filePath));
    const response = await this.http.request({
      method: 'POST',
      url: '/api/v1/images',
      params: { batchId },
      data: form,
      headers: { [IDEMPOTENCY_HEADER]: options.idempotencyKey },
      // The shared queue's clocks bound it instead: axios's timeout is a socket idle timer in Node.
      timeout: 0,
      maxBodyLength: Infinity,
      maxContentLength: 1024 * 1024,
      validateStatus: () => true,
      signal: options.signal,
      onUploadProgress: (event: AxiosProgressEvent) => options.onProgress(event.loaded, event.total),
    });
    return { status: response.status, body: response.data as unknown };
  }

  /** Every image of a batch, following the paging. */
  listBatch(batchId: string): Promise<ImageSummary[]> {
    return readAllPages((offset, limit) => this.request<ImageListResponse>({ method: 'GET', url: '/api/v1/images', params: { batchId, limit, offset } }));
  }

  /** The server's output defaults, limits and presets (GET /api/v1/config). */
  config(): Promise<unknown> {
    return this.request({ method: 'GET', url: '/api/v1/config', timeout: 10_000 });
  }

  image(id: number): Promise<ImageSummary> {
    return this.request({ method: 'GET', url: `/api/v1/images/${id}` });
  }

  /** False only when the backend says it has no such image (deleted); throws on any other failure. */
  async imageExists(id: number): Promise<boolean> {
    try {
      await this.image(id);
      return true;
    } catch (err) {
      if (err instanceof AppError && err.status === 404 && err.code === IMAGE_NOT_FOUND) return false;
      throw err;
    }
  }

  /** The processed JPEG's bytes. */
  async processed(id: number, signal?: AbortSignal): Promise<Buffer> {
    const data = await this.request<ArrayBuffer>({
      method: 'GET',
      url: `/api/v1/images/${id}/processed`,
      responseType: 'arraybuffer',
      timeout: 120_000,
      signal,
    });
    return Buffer.from(data);
  }

  retry(id: number): Promise<{ id: number; status: string }> {
    return this.request({ method: 'POST', url: `/api/v1/images/${id}/retry` });
  }

  async remove(id: number): Promise<void> {
    await this.request({ method: 'DELETE', url: `/api/v1/images/${id}` });
  }

  /** A page of the backend's batches, the latest first. */
  batches(page: { limit: number; offset: number }): Promise<BatchListResponse> {
    return this.request({ method: 'GET', url: '/api/v1/batches', params: page });
  }

  deleteBatch(batchId: string): Promise<BatchDeletion> {
    return this.request({ method: 'DELETE', url: `/api/v1/batches/${batchId}` });
  }

  batch(batchId: string): Promise<BatchSummary> {
    return this.request({ method: 'GET', url: `/api/v1/batches/${batchId}` });
  }

  stats(): Promise<Stats> {
    return this.request({ method: 'GET', url: '/api/v1/stats' });
  }

  /** The live pods and every pod's history over the last `spanSeconds` (the metrics window asks for its longest span). */
  async metrics(spanSeconds = 3600): Promise<MetricsOverview> {
    const body = await this.request<Partial<MetricsOverview> & { pods?: MetricsSample[] }>({
      method: 'GET',
      url: `/api/v1/metrics?span=${spanSeconds}`,
    });
    return {
      pods: body.pods ?? [],
      periodSeconds: body.periodSeconds ?? 5,
      source: body.source ?? 'none',
      redisConnected: body.redisConnected ?? null,
      history: Array.isArray(body.history) ? body.history : [],
      ...(typeof body.serverTime === 'string' ? { serverTime: body.serverTime } : {}),
      ...(typeof body.pod === 'string' ? { pod: body.pod } : {}),
      ...(typeof body.keyPrefix === 'string' ? { keyPrefix: body.keyPrefix } : {}),
      ...(body.health ? { health: body.health } : {}),
    };
  }

  async health(): Promise<void> {
    await this.request({ method: 'GET', url: '/healthz', timeout: 5000 });
  }

  private async request<T>(config: Parameters<AxiosInstance['request']>[0]): Promise<T> {
    try {
      const response = await this.http.request<T>(config);
      return response.data;
    } catch (err) {
      throw toAppError(err, this.baseUrl);
    }
  }
}

/** Turns an axios failure into the error the UI understands (the shared policy's codes and words). */
export function toAppError(err: unknown, baseUrl: string): AppError {
  if (err instanceof AppError) return err;
  if (axios.isCancel(err) || (err instanceof Error && err.name === 'AbortError')) {
    return new AppError('CANCELLED', 'cancelled', { cause: err });
  }
  if (err instanceof AxiosError) {
    if (err.code === AxiosError.ERR_CANCELED) return new AppError('CANCELLED', 'cancelled', { cause: err });
    const response = err.response;
    if (!response) {
      const offline = offlineFailure(baseUrl, err.code ?? err.message);
      return new AppError(offline.code, offline.message, { cause: err });
    }
    const failure = failureFromResponse(response.status, response.statusText || '', bodyText(response.data));
    return new AppError(failure.code, failure.message, { status: response.status, cause: err });
  }
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return new AppError(code === 'ENOENT' || code === 'EACCES' ? 'IO_ERROR' : 'INTERNAL', err.message, { cause: err });
  }
  return new AppError('INTERNAL', String(err));
}

/** Why a request got no answer at all (ECONNREFUSED, ECONNRESET, …); null when it got one or was not sent. */
export function noAnswerReason(err: unknown): string | null {
  if (!(err instanceof AxiosError) || err.response || err.code === AxiosError.ERR_CANCELED) return null;
  return err.code ?? err.message;
}

/** Binary answers (downloads) come as bytes: their error body is JSON text. */
function bodyText(data: unknown): unknown {
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return data;
}

/** Network failures worth retrying: the request may not have reached the backend, or it was briefly unavailable. */
export function isTransient(err: AppError): boolean {
  return isTransientFailure(err);
}
