import { toJson } from "@bufbuild/protobuf";
import { timestampMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { enumText, type Job, JobStatus, JobStatusSchema, ParentFailurePolicy } from "@taskflow/proto";
import type { Logger } from "pino";
import type { HistoryClient } from "./history-client.js";
import type { DueTimer } from "./loops/due-timer.js";
import type { LeaseWaiters } from "./redis/lease-waiters.js";
import type { ParentRecord } from "./redis/job-records.js";
import type { QueueStore } from "./redis/queue-store.js";
import { restoreJobOf, RestoreOutcome, type RecoveryStore } from "./redis/recovery-store.js";

/** Ids read from history per call when settling children by id (history's ids limit). */
export const SETTLE_IDS_PER_CALL = 100;

/** The actor of the events that end a child for its parents' sake. */
export const SETTLE_ACTOR = "scheduler:flows";

const TERMINAL = new Set([JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED]);

/** What a child does now: keep waiting, run, or end without running. */
export type Verdict = { kind: "wait" } | { kind: "run" } | { kind: "fail" | "cancel"; parent: Job["parents"][number] };

/**
 * What a flow's child does given its parents as history reports them: it waits while any parent
 * is unfinished; runs when all completed, or when one did not and its policy is RUN; otherwise
 * fails (FAIL, the default) or is cancelled (CANCEL), naming the first parent that did not
 * complete. A job without parents runs.
 */
export function verdictOf(job: Pick<Job, "parents" | "onParentFailure">): Verdict {
  if (job.parents.some((p) => !TERMINAL.has(p.status))) return { kind: "wait" };
  const parent = job.parents.find((p) => p.status !== JobStatus.COMPLETED);
  if (parent === undefined || job.onParentFailure === ParentFailurePolicy.RUN) return { kind: "run" };
  return { kind: job.onParentFailure === ParentFailurePolicy.CANCEL ? "cancel" : "fail", parent };
}

/** What settling children uses. */
export interface SettleDeps {
  history: Pick<HistoryClient, "listUnfinishedJobs">;
  recovery: Pick<RecoveryStore, "restore" | "bury">;
  store: Pick<QueueStore, "addQueues">;
  waiters: Pick<LeaseWaiters, "announce">;
  dueTimer?: Pick<DueTimer, "delayed">;
  /** Tells the outbox forwarder that events wait (a child failed or cancelled). */
  eventsWritten: () => void;
  defaultTimeoutMs: number;
  logger: Logger;
}

/**
 * Releases the children of a flow whose parents settled. A child waits in history alone (Redis
 * holds no trace of it), so every step here is one Redis script on the child's own queue that
 * does nothing when Redis holds the job already: a child to run is restored like a lost job
 * (ready or delayed, its parents' results kept in its hash for the lease), a child to fail or
 * cancel gets a tombstone and its FAILED or CANCELLED event in its queue's outbox (seq after
 * history's newest). Any replica, any number of times, in any order: each child ends as its
 * policy says once. Callers: the submit (parents ended before), the outbox forwarder (after
 * history recorded a parent's end) and the reconciler (a crash in between, a loss of Redis).
 */
export class ChildSettler {
  private readonly logger: Logger;

  constructor(private readonly d: SettleDeps) {
    this.logger = d.logger.child({ component: "settle-children" });
  }

  /**
   * Reads the children `ids` from history (unfinished ones, with their parents' results) and
   * settles them.
   * @throws unavailable when history or Redis fails (the caller retries: every step is idempotent).
   */
  async settleIds(ids: readonly string[], signal?: AbortSignal): Promise<void> {
    const sorted = [...new Set(ids)].sort();
    for (let i = 0; i < sorted.length; i += SETTLE_IDS_PER_CALL) {
      let rest = sorted.slice(i, i + SETTLE_IDS_PER_CALL);
      while (rest.length > 0) {
        const jobs = await this.d.history.listUnfinishedJobs({ ids: rest, createdBeforeMs: 0, afterId: "", pageSize: rest.length }, signal);
        if (jobs.length === 0) break;
        await this.settle(jobs);
        // History answers in id order and stops at its byte budget: ask again for what follows.
        const last = jobs.at(-1)!.id;
        rest = rest.filter((id) => id > last);
      }
    }
  }

  /**
   * Settles the jobs (as history reports them, with parents): waiting ones are left alone, the
   * others run or end. Only pending jobs are touched: a processing one ran already.
   * @throws unavailable when Redis fails.
   */
  async settle(jobs: readonly Job[]): Promise<void> {
    const byQueue = new Map<string, Job[]>();
    for (const job of jobs) {
      if (job.status !== JobStatus.PENDING || job.parents.length === 0) continue;
      if (verdictOf(job).kind === "wait") continue;
      byQueue.set(job.queue, [...(byQueue.get(job.queue) ?? []), job]);
    }
    if (byQueue.size === 0) return;
    await this.d.store.addQueues([...byQueue.keys()]);
    await Promise.all([...byQueue].map(([queue, group]) => this.settleQueue(queue, group)));
  }

  private async settleQueue(queue: string, jobs: readonly Job[]): Promise<void> {
    const run = jobs.filter((j) => verdictOf(j).kind === "run");
    const end = jobs.filter((j) => verdictOf(j).kind !== "run");
    const [released] = await Promise.all([this.release(queue, run), Promise.all(end.map((j) => this.end(j)))]);
    const ended = end.length;
    if (released.length > 0) this.logger.info({ queue, job_ids: released }, "children released");
    if (ended > 0) {
      this.d.eventsWritten();
      this.logger.info({ queue, job_ids: end.map((j) => j.id) }, "children ended by their parents");
    }
  }

  /** Restores the children to run; resolves to the ids Redis did not hold before. */
  private async release(queue: string, jobs: readonly Job[]): Promise<string[]> {
    if (jobs.length === 0) return [];
    const outcomes = await this.d.recovery.restore(
      queue,
      // A child not yet released has no later event than its SUBMITTED (seq 1).
      jobs.map((job) => ({ ...restoreJobOf(job, this.d.defaultTimeoutMs), seq: Math.max(1, job.lastEventSeq), processing: false, parentsJson: parentsJson(job) })),
    );
    const ready = new Map<string, number>();
    let due = Infinity;
    jobs.forEach((job, i) => {
      if (outcomes[i] === RestoreOutcome.Ready) ready.set(job.type, (ready.get(job.type) ?? 0) + 1);
      if (outcomes[i] === RestoreOutcome.Delayed && job.scheduledAt !== undefined) due = Math.min(due, timestampMs(job.scheduledAt));
    });
    if (due < Infinity) this.d.dueTimer?.delayed(queue, due);
    if (ready.size > 0) await this.d.waiters.announce([{ queue, ready }]);
    return jobs.filter((_, i) => outcomes[i] !== RestoreOutcome.Present).map((j) => j.id);
  }

  /** Fails or cancels a child whose parent did not complete, as its policy says. */
  private async end(job: Job): Promise<void> {
    const verdict = verdictOf(job);
    if (verdict.kind !== "fail" && verdict.kind !== "cancel") return;
    const parentStatus = enumText(JobStatusSchema, verdict.parent.status) ?? "unknown";
    await this.d.recovery.bury(
      { id: job.id, queue: job.queue, type: job.type, lastSeq: Math.max(1, job.lastEventSeq), attempts: job.attempts },
      { reason: "", actor: SETTLE_ACTOR },
      {
        status: verdict.kind === "fail" ? "failed" : "cancelled",
        reason: "parent_failed",
        error: verdict.kind === "fail" ? `parent job ${verdict.parent.id} ended ${parentStatus}` : undefined,
        details: { parent_id: verdict.parent.id, parent_status: parentStatus },
      },
    );
  }
}

/** The parents as the child's hash keeps them for its leases (see ParentRecord). */
function parentsJson(job: Job): string {
  const parents: ParentRecord[] = job.parents.map((p) => ({
    id: p.id,
    type: p.type,
    queue: p.queue,
    status: enumText(JobStatusSchema, p.status) ?? "unknown",
    ...(p.result === undefined ? {} : { result: toJson(ValueSchema, p.result) }),
  }));
  return JSON.stringify(parents);
}
