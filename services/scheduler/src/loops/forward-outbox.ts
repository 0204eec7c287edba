import type { Logger } from "pino";
import type { HistoryClient } from "../history-client.js";
import type { SchedulerMetrics } from "../metrics.js";
import { entryBytes, type OutboxEntry, type OutboxReader } from "../redis/outbox.js";
import type { QueueStore } from "../redis/queue-store.js";
import { PeriodicLoop } from "@taskflow/service-kit";
import { traceForward } from "../job-tracing.js";
import { applyEntries } from "./apply-events.js";
import { QueueBackoff } from "./queue-backoff.js";

/** Most batches per queue in one run, so one busy queue cannot starve the others. */
export const MAX_BATCHES_PER_RUN = 20;

export interface ForwardOutboxDeps {
  store: QueueStore;
  reader: OutboxReader;
  history: HistoryClient;
  /** Most events per call to history. */
  batchSize: number;
  /** Most bytes of events per call to history (the first event goes whatever its size). */
  batchMaxBytes: number;
  intervalMs: number;
  logger: Logger;
  /** Entries pending this long on a consumer are presumed orphaned (its process died) and claimed, in ms. */
  claimIdleMs: number;
  /** Counts entries parked in the parked stream. */
  parked?: SchedulerMetrics["outboxParked"];
  /** Releases or ends the flows' children history found settled by a batch (see ChildSettler). */
  settleChildren?: (ids: readonly string[]) => Promise<void>;
}

/**
 * Forwards job transitions from the per-queue outboxes to history in batches bounded by count
 * and bytes. An entry is acknowledged (and deleted) only after history answered; on a history
 * error it stays pending and that queue alone is retried with backoff, so one stuck queue never
 * delays the others. History applies events idempotently, so a retry after a crash between its
 * answer and the acknowledgement records nothing twice. An entry that cannot be applied (it does
 * not parse, history refuses it even alone, or its seq is taken) is parked in the queue's parked
 * stream with its error, logged and counted, so one bad record never wedges the loop. Once
 * history holds a job's end, the job's Redis hash gets its expiry, and the flows' children that
 * end let go are released or ended (`settleChildren`) before the entries are acknowledged.
 */
export class ForwardOutbox {
  private readonly loop: PeriodicLoop;
  private readonly logger: Logger;
  private readonly backoff = new QueueBackoff();

  constructor(private readonly d: ForwardOutboxDeps) {
    this.logger = d.logger.child({ component: "forward-outbox" });
    this.loop = new PeriodicLoop({ intervalMs: d.intervalMs, logger: this.logger, run: () => this.runOnce() });
  }

  /**
   * Drains every queue's outbox, skipping queues waiting out a failure; resolves to the number
   * of entries forwarded. A queue's failure is logged and backs off that queue only.
   * @throws unavailable when the set of queues cannot be read.
   */
  async runOnce(): Promise<number> {
    const queues = await this.d.store.knownQueues();
    this.d.reader.retainGroups(queues);
    this.backoff.retain(queues);
    const counts = await Promise.all(queues.filter((q) => this.backoff.due(q)).map((q) => this.drainQueue(q)));
    return counts.reduce((a, b) => a + b, 0);
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
    try {
      for (let i = 0; i < MAX_BATCHES_PER_RUN; i += 1) {
        const { read, forwarded } = await this.forwardBatch(queue);
        total += forwarded;
        if (read < this.d.batchSize && forwarded === read) break;
      }
      this.backoff.succeeded(queue);
    } catch (err) {
      const retryInMs = this.backoff.failed(queue);
      this.logger.warn({ err, queue, retry_in_ms: retryInMs }, "outbox not forwarded");
    }
    return total;
  }

  /** Forwards the first entries of one read that fit the byte budget; the rest stay pending for the next batch. */
  private async forwardBatch(queue: string): Promise<{ read: number; forwarded: number }> {
    const read = await this.d.reader.read(queue, this.d.batchSize, this.d.claimIdleMs);
    if (read.length === 0) return { read: 0, forwarded: 0 };
    const entries = withinBytes(read, this.d.batchMaxBytes);
    const { parked, ended, settledChildIds } = await traceForward(queue, entries, () =>
      applyEntries(this.d.history, entries, this.logger.child({ queue })),
    );
    // Before the acknowledgement: should this fail or the process die, the entries are sent
    // again and history answers the same children again.
    if (settledChildIds.length > 0) await this.d.settleChildren?.(settledChildIds);
    await this.d.reader.ack(queue, { ids: entries.map((e) => e.id), parked, ended });
    for (const p of parked) {
      this.logger.error({ queue, job_id: p.entry.fields?.job, entry_id: p.entry.id, error: p.error }, "outbox entry parked");
    }
    if (parked.length > 0) this.d.parked?.inc({ queue }, parked.length);
    this.logger.debug({ queue, events: entries.length }, "outbox forwarded");
    return { read: read.length, forwarded: entries.length };
  }
}

/** The longest prefix of `entries` within `maxBytes`, and at least the first entry. */
function withinBytes(entries: readonly OutboxEntry[], maxBytes: number): OutboxEntry[] {
  let bytes = 0;
  let n = 0;
  while (n < entries.length) {
    bytes += entryBytes(entries[n]!);
    if (n > 0 && bytes > maxBytes) break;
    n += 1;
  }
  return entries.slice(0, n);
}
