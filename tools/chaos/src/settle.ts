import { setTimeout as sleep } from "node:timers/promises";
import type { Client } from "@connectrpc/connect";
import type { AdminService } from "@taskflow/proto";
import type { ExecRecord } from "@taskflow/testkit";
import type { Redis } from "ioredis";
import type pg from "pg";

const TERMINAL = ["completed", "failed", "cancelled"] as const;
/** Pause between two polls of the database, in ms. */
const POLL_MS = 250;
/** Longest wait of one Reconcile call, in ms. */
const RECONCILE_TIMEOUT_MS = 10_000;

/** Jobs per status in the database. */
export type StatusCounts = Record<"pending" | "processing" | "completed" | "failed" | "cancelled", number>;

/**
 * Calls AdminService.Reconcile, retrying while the scheduler is still coming up.
 * Resolves with the number of jobs it enqueued again. @throws the last error after `timeoutMs`.
 */
export async function reconcileOnce(admin: Client<typeof AdminService>, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await admin.reconcile({}, { timeoutMs: RECONCILE_TIMEOUT_MS });
      return res.requeuedJobIds.length;
    } catch (err) {
      if (Date.now() + POLL_MS > deadline) throw err;
      await sleep(POLL_MS);
    }
  }
}

/** Counts the database's jobs per status. */
export async function countStatuses(db: pg.Pool): Promise<StatusCounts> {
  const counts: StatusCounts = { pending: 0, processing: 0, completed: 0, failed: 0, cancelled: 0 };
  const { rows } = await db.query<{ status: keyof StatusCounts; n: number }>(
    "SELECT status, count(*)::int AS n FROM jobs GROUP BY status",
  );
  for (const r of rows) counts[r.status] = r.n;
  return counts;
}

/**
 * Waits until no job in the database is pending or processing. Resolves true once so, false
 * when `timeoutMs` passed or `signal` aborted first.
 */
export async function untilAllTerminal(db: pg.Pool, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!signal.aborted) {
    const counts = await countStatuses(db).catch(() => undefined);
    if (counts !== undefined && counts.pending + counts.processing === 0) return true;
    if (Date.now() + POLL_MS > deadline) return false;
    await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
  }
  return false;
}

/** Acknowledged ids that the database lacks or holds unfinished. */
export async function countLost(db: pg.Pool, acknowledged: readonly string[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND status = ANY($2::text[])",
    [acknowledged, TERMINAL],
  );
  return new Set(acknowledged).size - rows[0]!.n;
}

/**
 * Where Redis and PostgreSQL disagree: each id in a queue's ready, delayed or leased set whose
 * job the database holds terminal (or lacks), plus each unfinished job of the database in none
 * of its queue's sets.
 */
export async function countMismatches(db: pg.Pool, redis: Redis, keyPrefix: string): Promise<number> {
  const { rows } = await db.query<{ id: string; queue: string; status: string }>("SELECT id::text, queue, status FROM jobs");
  const status = new Map(rows.map((r) => [r.id, r.status]));
  const terminal = (id: string): boolean => (TERMINAL as readonly string[]).includes(status.get(id) ?? "completed");
  let mismatches = 0;
  const queued = new Set<string>();
  for (const queue of new Set(rows.map((r) => r.queue))) {
    for (const set of ["ready", "delayed", "leased"]) {
      for (const id of await redis.zrange(`${keyPrefix}:{${queue}}:${set}`, "0", "-1")) {
        queued.add(id);
        if (terminal(id)) mismatches += 1;
      }
    }
  }
  for (const r of rows) if (!terminal(r.id) && !queued.has(r.id)) mismatches += 1;
  return mismatches;
}

/**
 * Executions beyond one per job, per job, from the fixture worker's log: its "start" lines less
 * one, less the attempts a flaky job failed on purpose ("fail" lines), which were meant to run.
 */
export function extraRuns(records: readonly ExecRecord[]): Map<string, number> {
  const extra = new Map<string, number>();
  for (const r of records) {
    if (r.event === "start") extra.set(r.job_id, (extra.get(r.job_id) ?? -1) + 1);
    else if (r.event === "fail") extra.set(r.job_id, (extra.get(r.job_id) ?? 0) - 1);
  }
  for (const [id, n] of extra) if (n <= 0) extra.delete(id);
  return extra;
}

/** Executions beyond one per job (see {@link extraRuns}). */
export function countDuplicates(records: readonly ExecRecord[]): number {
  let duplicates = 0;
  for (const n of extraRuns(records).values()) duplicates += n;
  return duplicates;
}

/** Why jobs ran more than once, as their audit trails tell it. */
export interface DuplicateCauses {
  /** The lease ran out (the worker was killed, or cut off): LEASE_EXPIRED, lease_deadline_passed or attempt_timed_out. */
  lease_expired: number;
  /** Redis lost the lease: LEASE_EXPIRED, restored_after_redis_loss. */
  restored_after_redis_loss: number;
  /**
   * No transition in the trail explains the run: Redis lost the outbox entries of the first run
   * (its STARTED or its outcome) before history recorded them, so the job came back as pending.
   */
  outbox_lost_with_redis: number;
}

/**
 * Attributes every extra execution to the trail event that explains it, lease expiries first,
 * then restores after a Redis loss; what no event explains was lost with Redis's outbox.
 */
export async function duplicateCauses(db: pg.Pool, records: readonly ExecRecord[]): Promise<DuplicateCauses> {
  const extra = extraRuns(records);
  if (extra.size === 0) return attributeDuplicates(extra, new Map());
  const { rows } = await db.query<{ job_id: string; expired: number; restored: number }>(
    `SELECT job_id::text,
            count(*) FILTER (WHERE reason IN ('lease_deadline_passed', 'attempt_timed_out'))::int AS expired,
            count(*) FILTER (WHERE reason = 'restored_after_redis_loss')::int AS restored
     FROM job_events WHERE job_id = ANY($1::uuid[]) AND type = 'lease_expired' GROUP BY job_id`,
    [[...extra.keys()]],
  );
  return attributeDuplicates(extra, new Map(rows.map((r) => [r.job_id, r])));
}

/** A job's lease expiries in its trail, by reason. */
export interface LapseCounts {
  /** The lease ran out (lease_deadline_passed, attempt_timed_out). */
  expired: number;
  /** Redis lost the lease (restored_after_redis_loss). */
  restored: number;
}

/**
 * Gives each job's extra runs (see {@link extraRuns}) the causes its trail holds, lease expiries
 * first, then restores, each event explaining at most one run; the rest were lost with Redis's
 * outbox. The causes add up to the extra runs.
 */
export function attributeDuplicates(extra: ReadonlyMap<string, number>, trail: ReadonlyMap<string, LapseCounts>): DuplicateCauses {
  const causes: DuplicateCauses = { lease_expired: 0, restored_after_redis_loss: 0, outbox_lost_with_redis: 0 };
  for (const [id, n] of extra) {
    const t = trail.get(id);
    const expired = Math.min(n, t?.expired ?? 0);
    const restored = Math.min(n - expired, t?.restored ?? 0);
    causes.lease_expired += expired;
    causes.restored_after_redis_loss += restored;
    causes.outbox_lost_with_redis += n - expired - restored;
  }
  return causes;
}

/** Longest wait for the jobs Redis lost to be back, in ms. */
const RESTORE_TIMEOUT_MS = 30_000;

/**
 * Time from a Redis data loss at `lostAtMs` until every job PostgreSQL held unfinished at the loss
 * is back in Redis (its hash, whatever became of it since), or has finished in PostgreSQL (a
 * forward in flight at the loss recorded its end: it must not come back), in ms; null when that
 * took longer than 30 s. Polls with one pipeline of EXISTS per round.
 */
export async function timeRestore(db: pg.Pool, redis: Redis, keyPrefix: string, lostAtMs: number): Promise<number | null> {
  const { rows } = await db.query<{ id: string; queue: string }>(
    `SELECT id::text, queue FROM jobs
     WHERE status IN ('pending', 'processing') AND created_at < to_timestamp($1::double precision / 1000)`,
    [lostAtMs],
  );
  let waiting = rows;
  for (;;) {
    const replies = await redis
      .pipeline(waiting.map((r) => ["exists", `${keyPrefix}:{${r.queue}}:job:${r.id}`]))
      .exec()
      .catch(() => null);
    if (replies !== null) {
      const absent = waiting.filter((_, i) => replies[i]?.[0] !== null || replies[i]?.[1] !== 1);
      waiting = await stillUnfinished(db, absent);
      if (waiting.length === 0) return Date.now() - lostAtMs;
    }
    if (Date.now() - lostAtMs > RESTORE_TIMEOUT_MS) return null;
    await sleep(POLL_MS / 5);
  }
}

/** The jobs among `jobs` that PostgreSQL still holds as pending or processing. */
async function stillUnfinished<J extends { id: string }>(db: pg.Pool, jobs: readonly J[]): Promise<J[]> {
  if (jobs.length === 0) return [];
  const { rows } = await db.query<{ id: string }>(
    "SELECT id::text FROM jobs WHERE id = ANY($1::uuid[]) AND status IN ('pending', 'processing')",
    [jobs.map((j) => j.id)],
  );
  const open = new Set(rows.map((r) => r.id));
  return jobs.filter((j) => open.has(j.id));
}
