/**
 * What a handler prints, turned into log lines with a budget per call. A
 * handler printing a whole snapshot in a loop once wrote 23 MB in two calls;
 * past the budget the rest of that call's output is counted and dropped, and
 * one line says so. Works on raw chunks rather than readline, which would
 * buffer a single newline-free 23 MB "line" whole before handing it over.
 */
import type { Logger } from 'pino';

/** Longest single log line; longer lines are cut (still counted against the budget). */
const MAX_LINE_CHARS = 2000;

export class HandlerOutput {
  private used = 0;
  private dropped = 0;
  private partial = '';
  private noticeGiven = false;

  constructor(
    private readonly logger: Logger,
    private readonly maxBytesPerCall: number,
    /** Told how many bytes were dropped when a call's output ends (metrics). */
    private readonly onDropped: (bytes: number) => void = () => undefined,
  ) {}

  /** A call begins: a fresh budget. Output of the previous call still buffered is logged first. */
  newCall(): void {
    this.flush();
    this.used = 0;
    this.dropped = 0;
    this.noticeGiven = false;
  }

  /** The call is over: log what is left, report the drop. */
  endCall(): void {
    this.flush();
    if (this.dropped > 0) this.onDropped(this.dropped);
    this.dropped = 0;
  }

  write(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const room = this.maxBytesPerCall - this.used;
    if (room <= 0) {
      this.drop(Buffer.byteLength(text));
      return;
    }
    let kept = text;
    const bytes = Buffer.byteLength(text);
    if (bytes > room) {
      kept = Buffer.from(text).subarray(0, room).toString('utf8');
      this.drop(bytes - Buffer.byteLength(kept));
    }
    this.used += Buffer.byteLength(kept);
    this.partial += kept;
    const lines = this.partial.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.emit(line);
    if (this.partial.length > MAX_LINE_CHARS) {
      this.emit(this.partial);
      this.partial = '';
    }
  }

  private drop(bytes: number): void {
    this.dropped += bytes;
    if (this.noticeGiven) return;
    this.noticeGiven = true;
    this.flush();
    this.logger.warn(
      { source: 'handler', max_bytes: this.maxBytesPerCall },
      `handler output over ${this.maxBytesPerCall} bytes in one call; the rest of this call's output is dropped (HANDLER_OUTPUT_MAX_BYTES)`,
    );
  }

  private flush(): void {
    if (this.partial !== '') this.emit(this.partial);
    this.partial = '';
  }

  private emit(line: string): void {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    this.logger.info({ source: 'handler' }, text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)}…` : text);
  }
}
