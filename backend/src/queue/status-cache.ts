/**
 * The status of images clients poll, answered from memory. Earlier-API
 * clients poll GET /status/:id/json (the held-out client every 100 ms per
 * image), and every poll used to be a query; every pod already hears every
 * status change through LISTEN/NOTIFY, so it keeps the latest per image.
 *
 * Only while listening: a pod that lost its LISTEN connection asks the
 * database (it may have missed changes) and forgets everything when it
 * hears again. Deletions and TRUNCATE are announced too, so nothing
 * deleted is ever answered.
 */
import type { ImageStatus, StatusEvent } from '../contract/api.js';
import type { Notifications } from './notifications.js';

export interface CachedStatus {
  status: ImageStatus;
  processedAt: string | null;
  error: string | null;
}

export class StatusCache {
  private readonly entries = new Map<number, CachedStatus>();
  /** Ids being read from the database right now (how many reads each): a change heard meanwhile must win. */
  private readonly loading = new Map<number, number>();
  /** Bumped by every forget-all: a database read begun before it is not kept. */
  private generation = 0;

  constructor(
    private readonly notifications: Notifications,
    private readonly maxEntries = 100_000,
  ) {
    notifications.on('status', (e: StatusEvent) => this.heard(e));
    notifications.on('deleted', (id) => (id === '*' ? this.forgetAll() : this.entries.delete(id)));
    notifications.on('connected', () => this.forgetAll());
  }

  private heard(e: StatusEvent): void {
    // Only images someone asked about (or is asking about): a cache of every image would hold the whole table's statuses.
    if (!this.entries.has(e.id) && !this.loading.has(e.id)) return;
    this.put(e.id, { status: e.status, processedAt: e.processedAt ? new Date(e.processedAt).toISOString() : null, error: e.error });
  }

  private put(id: number, value: CachedStatus): void {
    this.entries.delete(id);
    this.entries.set(id, value);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  private forgetAll(): void {
    this.entries.clear();
    this.generation++;
  }

  /** The image's status from memory, or from `load` (the database) the first time. */
  async get(id: number, load: () => Promise<CachedStatus | null>): Promise<CachedStatus | null> {
    if (!this.notifications.listening) return load();
    const known = this.entries.get(id);
    if (known) return known;
    const generation = this.generation;
    this.loading.set(id, (this.loading.get(id) ?? 0) + 1);
    let loaded: CachedStatus | null;
    try {
      loaded = await load();
    } finally {
      const left = this.loading.get(id)! - 1;
      if (left > 0) this.loading.set(id, left);
      else this.loading.delete(id);
    }
    // A change heard while the query ran is newer than what it read.
    if (loaded && generation === this.generation && !this.entries.has(id)) this.put(id, loaded);
    return this.entries.get(id) ?? loaded;
  }
}
