/**
 * Keeps the leases of what this pod holds alive: every third of the lease
 * it renews those of its jobs that are leased (an upload's images are not,
 * until their upload commits: no other session sees their rows before), so
 * a pod that stalls or dies loses them within one lease and any other pod
 * takes the images over. On a drain it hands back what did not finish.
 */
import type { Logger } from '../logger.js';
import type { Job } from './job.js';

export interface LeaseRenewal {
  renewLeases(workerId: string, ids: number[], leaseSeconds: number): Promise<{ renewed: number[]; lost: number[] }>;
  release(workerId: string, ids: number[]): Promise<number>;
}

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: LeaseRenewal,
    private readonly workerId: string,
    private readonly leaseSeconds: number,
    private readonly jobs: () => Iterable<Job>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    // Renew well before expiry: a third of the lease leaves two chances to succeed.
    this.timer = setInterval(() => void this.renew(), (this.leaseSeconds * 1000) / 3);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async renew(): Promise<void> {
    const held = [...this.jobs()].filter((j): j is Job & { id: number } => j.lease === 'leased' && j.id !== undefined);
    if (held.length === 0) return;
    const askedAt = Date.now();
    try {
      const { renewed, lost } = await this.store.renewLeases(
        this.workerId,
        held.map((j) => j.id),
        this.leaseSeconds,
      );
      const ok = new Set(renewed);
      for (const j of held) if (ok.has(j.id)) j.leaseUntil = askedAt + this.leaseSeconds * 1000;
      if (lost.length) this.logger.warn({ lost }, 'leases lost (another worker took these images over)');
    } catch (err) {
      this.logger.warn({ err }, 'renewing leases failed; will retry');
    }
  }

  /** Hands `ids` back for any pod to take at once, instead of waiting for their leases to expire. */
  async release(ids: number[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.store.release(this.workerId, ids).catch((err: unknown) => {
      this.logger.warn({ err, unfinished: ids }, 'handing back unfinished images failed; their leases will expire');
      return 0;
    });
  }
}
