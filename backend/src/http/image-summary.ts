/**
 * The one place a stored row becomes the API's ImageSummary (the queue
 * knows nothing of the HTTP contract).
 */
import type { ImageSummary } from '../contract/api.js';
import type { ImageRow } from '../queue/catalogue.js';

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

export function toImageSummary(r: ImageRow): ImageSummary {
  return {
    id: r.id,
    batchId: r.batch_id ?? '',
    filename: r.filename ?? `image_${r.id}`,
    contentType: r.content_type,
    status: r.status,
    error: r.error,
    errorCode: r.error_code,
    originalBytes: r.original_bytes,
    processedBytes: r.processed_bytes,
    originalWidth: r.original_width,
    originalHeight: r.original_height,
    width: r.width,
    height: r.height,
    attempts: r.attempts,
    workerId: r.worker_id,
    uploadedAt: r.uploaded_at.toISOString(),
    startedAt: iso(r.started_at),
    processedAt: iso(r.processed_at),
    processingMs: r.processing_ms,
    options: r.output_options,
    sourcePath: r.source_path,
    outputQuality: r.output_quality,
  };
}
