/**
 * One LISTEN connection per process. It carries two things across the
 * cluster: "there is work" (wakes idle workers at once after an upload on any
 * pod) and every image's status change (so any pod can push any image's
 * status to its SSE clients). If the connection drops it reconnects by
 * itself; workers meanwhile fall back to their poll timer.
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { StatusEvent } from '../contract/api.js';
import type { Logger } from '../logger.js';
import { DELETED_CHANNEL, STATUS_CHANNEL, WORK_CHANNEL } from '../db/migrations.js';

export interface NotificationEvents {
  status: [StatusEvent];
  /** An image id, or '*' when the table was truncated. */
  deleted: [number | '*'];
  work: [];
  connected: [];
}

export class Notifications extends EventEmitter<NotificationEvents> {
  private client: pg.Client | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 250;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {
    super();
    this.setMaxListeners(0);
  }

  /** Resolves once listening; later connection losses are retried forever. */
  async start(): Promise<void> {
    await this.connect();
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'imgfleet-listen', keepAlive: true });
    client.on('notification', (msg) => {
      if (msg.channel === WORK_CHANNEL) {
        this.emit('work');
      } else if (msg.channel === DELETED_CHANNEL && msg.payload) {
        this.emit('deleted', msg.payload === '*' ? '*' : Number(msg.payload));
      } else if (msg.channel === STATUS_CHANNEL && msg.payload) {
        try {
          this.emit('status', JSON.parse(msg.payload) as StatusEvent);
        } catch (err) {
          this.logger.warn({ err }, 'unreadable status notification');
        }
      }
    });
    client.on('error', (err) => {
      this.logger.warn({ err }, 'LISTEN connection lost; reconnecting');
      this.dropAndRetry(client);
    });
    client.on('end', () => this.dropAndRetry(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${STATUS_CHANNEL}`);
      await client.query(`LISTEN ${WORK_CHANNEL}`);
      await client.query(`LISTEN ${DELETED_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    this.retryDelayMs = 250;
    this.emit('connected');
    // Anything uploaded while we were deaf is picked up now.
    this.emit('work');
  }

  private dropAndRetry(client: pg.Client): void {
    if (this.client === client) this.client = undefined;
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().catch((err: unknown) => {
        this.logger.warn({ err }, 'LISTEN reconnect failed');
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, 10_000);
        this.scheduleReconnect();
      });
    }, this.retryDelayMs);
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}
