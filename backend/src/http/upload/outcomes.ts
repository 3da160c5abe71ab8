/** The answer to an upload request: one outcome for every part it carried. */
import type { OutputOptions } from '../../contract/output-options.js';
import type { NotReadFile, UploadFileResult, UploadResponse } from '../../contract/api.js';

/** A part of a request that failed as a whole: nothing of it was stored. */
export interface UnstoredFile {
  filename: string;
  status: 'not_stored';
}

/** Past this many, files that were not read are counted but not listed (an answer must stay small). */
export const MAX_LISTED_NOT_READ = 1000;

export class UploadOutcomes {
  private readonly stored: (UploadFileResult & { position: number })[] = [];
  private readonly seen: { position: number; filename: string }[] = [];
  readonly notRead: NotReadFile[] = [];
  notReadCount = 0;

  constructor(private readonly maxFiles: number) {}

  saw(position: number, filename: string): void {
    this.seen.push({ position, filename });
  }

  storedAs(position: number, result: UploadFileResult): void {
    this.stored.push({ position, ...result });
  }

  skipped(filename: string): void {
    this.notReadCount++;
    if (this.notRead.length < MAX_LISTED_NOT_READ) {
      this.notRead.push({
        filename,
        code: 'TOO_MANY_FILES',
        error: `not read: a request may carry at most ${this.maxFiles} files (MAX_FILES_PER_UPLOAD); send it in another request`,
      });
    }
  }

  get count(): number {
    return this.stored.length;
  }

  /** The 202 answer, in part order. */
  response(batchId: string, options: OutputOptions): UploadResponse & { notRead: NotReadFile[] } {
    const images = [...this.stored].sort((a, b) => a.position - b.position).map(({ position: _, ...r }) => r);
    const accepted = images.filter((r) => r.status !== 'failed').length;
    const rejected = images.length - accepted;
    let message = `${accepted} image(s) queued for processing`;
    if (rejected) message += `, ${rejected} rejected`;
    if (this.notReadCount) message += `; ${this.notReadCount} file(s) not read: only the first ${this.maxFiles} files of a request are read`;
    return { message, batchId, accepted, rejected, images, options, notRead: this.notRead };
  }

  /** For a failed request: every part read so far, none stored. */
  unstored(): UnstoredFile[] {
    return [...this.seen].sort((a, b) => a.position - b.position).map((s) => ({ filename: s.filename, status: 'not_stored' as const }));
  }
}
