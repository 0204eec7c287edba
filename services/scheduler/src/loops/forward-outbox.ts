import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { HistoryClient, JobEventInit } from "../history-client.js";
import type { SchedulerMetrics } from "../metrics.js";
import { toJobEvent, type OutboxEntry, type OutboxReader, type ParkedEntry } from "../redis/outbox.js";
import type { QueueStore } from "../redis/queue-store.js";
import { PeriodicLoop } from "@taskflow/service-kit";

/** Most batches per queue in one run, so one busy queue cannot starve the others. */
export const MAX_BATCHES_PER_RUN = 20;

export interface ForwardOutboxDeps {
  store: QueueStore;
  reader: OutboxReader;
  history: HistoryClient;
  batchSize: number;
  intervalMs: number;
  logger: Logger;
  /** Entries pending this long on a consumer are presumed orphaned (its process died) and claimed, in ms. */
  claimIdleMs: number;
  /** Counts entries parked in the dead-letter stream. */
  parked?: SchedulerMetrics["outboxParked"];
}

/**
 * Forwards job transitions from the per-queue outboxes to history in
 * batches. An entry is acknowledged (and deleted) only after history
 * answered; on a history error it stays pending and the loop retries with
 * backoff. History applies events idempotently, so a retry after a crash
 * between its answer and the acknowledgement records nothing twice. An
 * entry that cannot be applied (it does not parse, or history refuses it as
 * invalid) is parked in the queue's dead-letter stream with its error,
 * logged and counted, so one bad record never wedges the loop.
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
    const entries = await this.d.reader.read(queue, this.d.batchSize, this.d.claimIdleMs);
    if (entries.length === 0) return 0;
    const { events, parked } = parse(entries);
    parked.push(...(await this.apply(queue, events)));
    await this.d.reader.ack(queue, entries.map((e) => e.id), parked);
    for (const p of parked) {
      this.logger.error({ queue, job_id: p.entry.fields?.job, entry_id: p.entry.id, error: p.error }, "outbox entry parked");
    }
    if (parked.length > 0) this.d.parked?.inc({ queue }, parked.length);
    this.logger.debug({ queue, events: events.length }, "outbox forwarded");
    return entries.length;
  }

  /**
   * Sends events to history; resolves to the entries history refused as invalid. A refused
   * batch is split in halves, each sent again (history applies events idempotently), until
   * the refused entries stand alone: one bad entry costs about 2·log2(batch) calls, and every
   * good entry lands, in order.
   * @throws whatever else history answers (e.g. unavailable): the batch stays pending.
   */
  private async apply(queue: string, events: readonly ParsedEvent[]): Promise<ParkedEntry[]> {
    if (events.length === 0) return [];
    try {
      const { unknownJobIds } = await this.d.history.appendEvents(events.map((e) => e.event));
      if (unknownJobIds.length > 0) {
        // Retrying cannot help: history will never know these jobs. Acknowledge and move on.
        this.logger.warn({ queue, job_ids: unknownJobIds }, "events of unknown jobs dropped");
      }
      return [];
    } catch (err) {
      if (!(err instanceof ConnectError && err.code === Code.InvalidArgument)) throw err;
      if (events.length === 1) return [{ entry: events[0]!.entry, error: err.rawMessage }];
      const half = Math.ceil(events.length / 2);
      const left = await this.apply(queue, events.slice(0, half));
      return [...left, ...(await this.apply(queue, events.slice(half)))];
    }
  }
}

interface ParsedEvent {
  entry: OutboxEntry;
  event: JobEventInit;
}

/** Splits entries into events to send and entries that do not parse; entries deleted while pending are neither. */
function parse(entries: readonly OutboxEntry[]): { events: ParsedEvent[]; parked: ParkedEntry[] } {
  const events: ParsedEvent[] = [];
  const parked: ParkedEntry[] = [];
  for (const entry of entries) {
    if (entry.fields === undefined) continue;
    try {
      events.push({ entry, event: toJobEvent(entry.fields) });
    } catch (err) {
      parked.push({ entry, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { events, parked };
}
