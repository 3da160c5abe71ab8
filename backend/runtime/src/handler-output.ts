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

/**
 * The Python bridge writes this line after each call's output. The output
 * pipe and the protocol pipe are not ordered with each other, so the end of
 * a call's output is marked in the output itself, and the budget of the next
 * call starts there, not when the reply happens to arrive.
 */
export const END_OF_CALL_MARK = '\x1e';

export class HandlerOutput {
  private used = 0;
  private partial = '';
  private noticeGiven = false;
  /** Set once the other side marks the ends of calls itself. */
  private marked = false;

  constructor(
    private readonly logger: Logger,
    private readonly maxBytesPerCall: number,
    /** Told how many bytes were dropped, as they are (metrics). */
    private readonly onDropped: (bytes: number) => void = () => undefined,
  ) {}

  /** A call begins: a fresh budget (unless the other side marks the ends of calls). */
  newCall(): void {
    if (!this.marked) this.reset();
  }

  private reset(): void {
    this.flush();
    this.used = 0;
    this.noticeGiven = false;
  }

  /** The call is over: log what is left. Output arriving later still counts against this call's budget. */
  endCall(): void {
    this.flush();
  }

  write(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const mark = text.indexOf(`${END_OF_CALL_MARK}\n`);
    if (mark >= 0) {
      this.marked = true;
      this.take(text.slice(0, mark));
      this.reset();
      this.write(text.slice(mark + END_OF_CALL_MARK.length + 1));
      return;
    }
    this.take(text);
  }

  private take(text: string): void {
    if (text === '') return;
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
    this.onDropped(bytes);
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
