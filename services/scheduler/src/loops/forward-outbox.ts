import type { Logger } from "pino";
import type { HistoryClient, JobEventInit } from "../history-client.js";
import { toJobEvent, type OutboxEntry, type OutboxReader } from "../redis/outbox.js";
import type { QueueStore } from "../redis/queue-store.js";
import { PeriodicLoop } from "./periodic-loop.js";

/** Entries pending this long on a consumer are presumed orphaned (its process died) and claimed, in ms. */
export const CLAIM_IDLE_MS = 60_000;
/** Most batches per queue in one run, so one busy queue cannot starve the others. */
export const MAX_BATCHES_PER_RUN = 20;

export interface ForwardOutboxDeps {
  store: QueueStore;
  reader: OutboxReader;
  history: HistoryClient;
  batchSize: number;
  intervalMs: number;
  logger: Logger;
  claimIdleMs?: number;
}

/**
 * Forwards job transitions from the per-queue outboxes to history in
 * batches. An entry is acknowledged (and deleted) only after history
 * answered; on a history error it stays pending and the loop retries with
 * backoff. History applies events idempotently, so a retry after a crash
 * between its answer and the acknowledgement records nothing twice.
 */
export class ForwardOutbox {
  private readonly loop: PeriodicLoop;
  private readonly logger: Logger;

  constructor(private readonly d: ForwardOutboxDeps) {
    this.logger = d.logger.child({ component: "forward-outbox" });
    this.loop = new PeriodicLoop({ intervalMs: d.intervalMs, logger: this.logger, run: () => this.runOnce() });
  }

  /**
   * Drains every queue's outbox; resolves to the number of entries forwarded.
   * @throws the first queue's error after every queue had its turn.
   */
  async runOnce(): Promise<number> {
    const queues = await this.d.store.knownQueues();
    const results = await Promise.allSettled(queues.map((q) => this.drainQueue(q)));
    const failed = results.find((r) => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    return results.reduce((n, r) => n + (r.status === "fulfilled" ? r.value : 0), 0);
  }

  start(): void {
    this.loop.start();
  }

  /** Asks for a run now: new events wait. */
  nudge(): void {
    this.loop.nudge();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async drainQueue(queue: string): Promise<number> {
    let total = 0;
    for (let i = 0; i < MAX_BATCHES_PER_RUN; i += 1) {
      const n = await this.forwardBatch(queue);
      total += n;
      if (n < this.d.batchSize) break;
    }
    return total;
  }

  private async forwardBatch(queue: string): Promise<number> {
    const entries = await this.d.reader.read(queue, this.d.batchSize, this.d.claimIdleMs ?? CLAIM_IDLE_MS);
    if (entries.length === 0) return 0;
    const events = this.parse(queue, entries);
    if (events.length > 0) {
      const { unknownJobIds } = await this.d.history.appendEvents(events);
      if (unknownJobIds.length > 0) {
        // Retrying cannot help: history will never know these jobs. Acknowledge and move on.
        this.logger.warn({ queue, job_ids: unknownJobIds }, "events of unknown jobs dropped");
      }
    }
    await this.d.reader.ack(queue, entries.map((e) => e.id));
    this.logger.debug({ queue, events: events.length }, "outbox forwarded");
    return entries.length;
  }

  private parse(queue: string, entries: OutboxEntry[]): JobEventInit[] {
    const events: JobEventInit[] = [];
    for (const e of entries) {
      if (e.fields === undefined) continue;
      try {
        events.push(toJobEvent(e.fields));
      } catch (err) {
        this.logger.error({ err, queue, entry_id: e.id }, "malformed outbox entry dropped");
      }
    }
    return events;
  }
}
