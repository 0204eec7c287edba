import type { JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { PeriodicLoop } from "@taskflow/service-kit";
import type { Logger } from "pino";
import type { HistoryClient, ProgressUpdateInit } from "../history-client.js";

/** Most updates per RecordProgress call (history's limit). */
export const PROGRESS_BATCH = 1_000;
/** Most bytes of details per RecordProgress call: far below history's 4 MiB message limit. */
export const PROGRESS_BATCH_MAX_BYTES = 1024 * 1024;
/** How long a first new value waits for others before a send, in ms: heartbeats of that span go together. */
export const PROGRESS_FLUSH_MS = 100;
/** Most jobs whose progress waits unsent (history slow or down); values of further jobs are dropped. */
export const MAX_UNSENT_PROGRESS = 20_000;

/** A job's progress as a heartbeat carried it, after its lease was checked. */
export interface ProgressNote {
  jobId: string;
  percent: number;
  details: JsonObject;
  /** Compact JSON length of `details`, for the batch's byte bound. */
  detailsBytes: number;
  /** The held attempt, and Redis's clock when its lease was checked: the value's order. */
  attempt: number;
  atMs: number;
}

export interface SendProgressDeps {
  history: Pick<HistoryClient, "recordProgress">;
  /** Retry period after a failed send (the loop backs off from it). */
  intervalMs: number;
  logger: Logger;
}

const newer = (a: ProgressNote, b: ProgressNote): boolean => a.attempt > b.attempt || (a.attempt === b.attempt && a.atMs > b.atMs);

/**
 * Forwards progress to history without a call per job or per heartbeat: each job's latest value
 * waits here (a newer one replaces it) and values noted within PROGRESS_FLUSH_MS go in one
 * RecordProgress call, bounded by count and bytes. Values live only in this process: a crash
 * loses the ones not yet sent, and the job shows its previous value until the next report. A
 * failed send keeps its values (unless newer ones came) and is retried with the loop's backoff.
 * History keeps the newest value by (attempt, time), so replicas need no coordination.
 */
export class SendProgress {
  private readonly loop: PeriodicLoop;
  private readonly logger: Logger;
  private pending = new Map<string, ProgressNote>();
  private flushTimer: NodeJS.Timeout | undefined;
  private droppedLogged = false;

  constructor(private readonly d: SendProgressDeps) {
    this.logger = d.logger.child({ component: "send-progress" });
    this.loop = new PeriodicLoop({ intervalMs: d.intervalMs, logger: this.logger, run: () => this.runOnce() });
  }

  /** Queues a job's progress (unless an unsent newer value is queued) and arms a send. */
  note(p: ProgressNote): void {
    const before = this.pending.get(p.jobId);
    if (before !== undefined && !newer(p, before)) return;
    if (before === undefined && this.pending.size >= MAX_UNSENT_PROGRESS) {
      if (!this.droppedLogged) this.logger.warn({ unsent: this.pending.size }, "progress dropped: history is behind");
      this.droppedLogged = true;
      return;
    }
    this.pending.set(p.jobId, p);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.loop.nudge();
    }, PROGRESS_FLUSH_MS);
  }

  /** Sends what is queued; resolves to the number of updates sent. @throws when history fails (the values stay queued). */
  async runOnce(): Promise<number> {
    if (this.pending.size === 0) return 0;
    const sending = this.pending;
    this.pending = new Map();
    let sent = 0;
    try {
      for (const batch of batches([...sending.values()])) {
        await this.d.history.recordProgress(batch.map(toUpdate));
        for (const p of batch) sending.delete(p.jobId);
        sent += batch.length;
      }
    } catch (err) {
      // Newer values noted meanwhile win over the ones that failed.
      for (const [id, p] of sending) if (!this.pending.has(id)) this.pending.set(id, p);
      throw err;
    }
    this.droppedLogged = false;
    return sent;
  }

  start(): void {
    this.loop.start();
  }

  /**
   * Stops sending; values still queued are dropped, as a crash would drop them (a stop must not
   * wait on a history that may be gone already).
   */
  async stop(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.loop.stop();
  }
}

/** Splits notes into batches of at most PROGRESS_BATCH updates and PROGRESS_BATCH_MAX_BYTES of details. */
function* batches(notes: ProgressNote[]): Generator<ProgressNote[]> {
  let batch: ProgressNote[] = [];
  let bytes = 0;
  for (const n of notes) {
    if (batch.length > 0 && (batch.length === PROGRESS_BATCH || bytes + n.detailsBytes > PROGRESS_BATCH_MAX_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(n);
    bytes += n.detailsBytes;
  }
  if (batch.length > 0) yield batch;
}

const toUpdate = (p: ProgressNote): ProgressUpdateInit => ({
  jobId: p.jobId,
  progress: { percent: p.percent, details: p.details, updatedAt: timestampFromMs(p.atMs), attempt: p.attempt },
});
