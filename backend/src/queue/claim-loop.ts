/**
 * Claims work from the table for this pod's free threads: exactly as many
 * images as it has threads free (so with 4 threads and 5 uploads, 4 are
 * `processing` and 1 stays `pending` for whichever pod frees up first), and
 * none while a job it already has waits for memory (more would only wait
 * behind it, while another pod may have room).
 *
 * `kick` is safe to call any time, any number of times: a kick during a
 * claim makes the loop look again once it returns.
 */
import type { OutputOptions } from '../contract/output-options.js';
import type { Logger } from '../logger.js';
import type { ClaimedImage } from './repository.js';
import type { ThreadLedger } from './thread-ledger.js';

export interface ClaimSource {
  failExhausted(maxAttempts: number): Promise<number>;
  claim(workerId: string, limit: number, leaseSeconds: number, maxAttempts: number, defaults: OutputOptions): Promise<ClaimedImage[]>;
}

export interface ClaimSettings {
  workerId: string;
  leaseSeconds: number;
  maxAttempts: number;
  defaults: OutputOptions;
}

export class ClaimLoop {
  private claiming = false;
  private again = false;
  /** Images whose workers kept dying are failed on the poll's beat, not before every claim. */
  private sweepDue = true;
  private stopped = false;

  constructor(
    private readonly source: ClaimSource,
    private readonly ledger: ThreadLedger,
    private readonly settings: ClaimSettings,
    /** True while a job of this pod waits for memory. */
    private readonly memoryContended: () => boolean,
    /** Takes a claimed image on; its thread was promised by the claim and is now the job's. */
    private readonly take: (image: ClaimedImage, leaseUntil: number) => void,
    private readonly logger: Logger,
  ) {}

  /** The poll's beat: the exhausted-images sweep is due again. */
  sweepSoon(): void {
    this.sweepDue = true;
  }

  stop(): void {
    this.stopped = true;
  }

  kick(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    void this.loop();
  }

  private async loop(): Promise<void> {
    this.claiming = true;
    try {
      do {
        this.again = false;
        const free = this.ledger.free();
        if (free <= 0 || this.stopped || this.memoryContended()) break;
        await this.claimFor(free);
        // A full claim may leave more waiting: the next finished image kicks again.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- kick() sets it during the await above
      } while (this.again);
    } catch (err) {
      this.logger.warn({ err }, 'claiming images failed; will retry');
    } finally {
      this.claiming = false;
    }
  }

  private async claimFor(free: number): Promise<void> {
    // The threads being claimed for are spoken for while the claim is in flight: an upload must not take one meanwhile.
    this.ledger.promise(free);
    let claimed: ClaimedImage[] = [];
    try {
      if (this.sweepDue) {
        this.sweepDue = false;
        await this.source.failExhausted(this.settings.maxAttempts);
      }
      const { workerId, leaseSeconds, maxAttempts, defaults } = this.settings;
      claimed = await this.source.claim(workerId, free, leaseSeconds, maxAttempts, defaults);
    } finally {
      // Each claimed image starts on one of the promised threads; the rest are given back.
      for (const _ of claimed) this.ledger.occupyPromised();
      this.ledger.unpromise(free - claimed.length);
    }
    const leaseUntil = Date.now() + this.settings.leaseSeconds * 1000;
    for (const image of claimed) this.take(image, leaseUntil);
  }
}
