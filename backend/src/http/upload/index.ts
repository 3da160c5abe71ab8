/** The upload path: `POST /api/v1/images` and the earlier `POST /upload`. */
import type { Response } from 'express';
import type { UploadAnswer } from './replay.js';

export { handleUpload } from './handle-upload.js';
export type { UploadAnswer } from './replay.js';
export type { UploadDeps } from './deps.js';
export { ActiveUploads } from './active-uploads.js';

export function sendUploadAnswer(res: Response, answer: UploadAnswer): void {
  res.status(answer.status).type('application/json');
  if (answer.replayed) res.set('Idempotent-Replayed', 'true');
  res.send(answer.body);
}
