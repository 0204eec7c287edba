import { JobStatus } from "@taskflow/client";
import { eventually, executionsByJob } from "@taskflow/testkit";
import { expect } from "vitest";
import type { FaultStack } from "./fault-stack.js";

const TERMINAL = new Set(["completed", "failed", "cancelled"]);
/** Events after which a job may rightly run again: its lease was lost or given back, or it failed. */
const RERUN_EVENTS = new Set(["lease_expired", "released", "retry_scheduled"]);
const STATUS_TEXT: Record<number, string> = {
  [JobStatus.PENDING]: "pending",
  [JobStatus.PROCESSING]: "processing",
  [JobStatus.COMPLETED]: "completed",
  [JobStatus.FAILED]: "failed",
  [JobStatus.CANCELLED]: "cancelled",
};

/** One row of job_events. */
export interface TrailEvent {
  seq: number;
  type: string;
  status: string;
  attempt: number;
  worker_id: string | null;
  /** When the transition happened and when history stored it, ms since the epoch. */
  occurred_ms: number;
  recorded_ms: number;
}

/** What history and the execution log say about one job once the system settled. */
export interface JobFacts {
  id: string;
  status: string;
  attempts: number;
  lastSeq: number;
  trail: TrailEvent[];
  /** Runs of the handler, from the execution log. */
  executions: number;
}

export interface InvariantOptions {
  /** Ids of every job the scheduler acknowledged. */
  acked: readonly string[];
  /** Runs the fault explains for a job beyond those its trail explains (e.g. Redis lost its lease). */
  extraExecutions?: (jobId: string) => number;
  /** Call AdminService.Reconcile once before comparing Redis with PostgreSQL (cases that lose Redis). */
  reconcile?: boolean;
  /** How long the system may take to settle, in ms (default 60 000). */
  settleTimeoutMs?: number;
}

/**
 * Waits until every job in history is terminal with its whole trail recorded, then asserts the
 * invariants every fault case shares: every acknowledged job exists (none lost) and is
 * terminal; each trail is gapless from seq 1, starts with `submitted` and holds exactly one
 * terminal event, its last; no job ran more often than its trail (and the fault) explains; and
 * Redis agrees with PostgreSQL. Resolves with the facts per job id for the case's own checks.
 */
export async function expectInvariants(fs: FaultStack, opts: InvariantOptions): Promise<Map<string, JobFacts>> {
  const timeoutMs = opts.settleTimeoutMs ?? 60_000;
  const settled = await eventually(async () => {
    const jobs = await readJobs(fs);
    return unsettled(jobs, opts.acked) === undefined ? jobs : undefined;
  }, timeoutMs).catch(async (err: unknown) => {
    // Name what is still open rather than only "not met".
    const why = unsettled(await readJobs(fs), opts.acked);
    throw new Error(`the system did not settle within ${timeoutMs} ms: ${why}`, { cause: err });
  });
  expect(jobViolations(settled, opts)).toEqual([]);
  await expectClientAgrees(fs, settled, opts.acked);
  if (opts.reconcile) {
    // Everything is terminal: a reconciliation now must find nothing to bring back.
    const fixed = await fs.admin.reconcile({});
    expect(fixed.requeuedJobIds).toEqual([]);
  }
  // The forwarder acknowledges outbox entries just after history answered: allow it a moment.
  const redisIssues = await eventually(async () => {
    const issues = await redisViolations(fs, settled);
    return issues.length === 0 ? issues : undefined;
  }, 10_000).catch(async () => redisViolations(fs, settled));
  expect(redisIssues).toEqual([]);
  return settled;
}

/** Every job with its trail, read in one statement so that both come from one snapshot. */
const READ_JOBS_SQL = `
SELECT j.id::text, j.status, j.attempts, j.last_seq,
       coalesce(json_agg(json_build_object(
         'seq', e.seq, 'type', e.type, 'status', e.status, 'attempt', e.attempt, 'worker_id', e.worker_id,
         'occurred_ms', (extract(epoch FROM e.occurred_at) * 1000)::float8,
         'recorded_ms', (extract(epoch FROM e.recorded_at) * 1000)::float8
       ) ORDER BY e.seq) FILTER (WHERE e.job_id IS NOT NULL), '[]') AS trail
FROM jobs j LEFT JOIN job_events e ON e.job_id = j.id
GROUP BY j.id`;

async function readJobs(fs: FaultStack): Promise<Map<string, JobFacts>> {
  const rows = await fs.sql<{ id: string; status: string; attempts: number; last_seq: number; trail: TrailEvent[] }>(READ_JOBS_SQL);
  // After the snapshot: a job terminal in it cannot start again legitimately, so a run logged
  // meanwhile counts against it, and every run its trail shows is already in the log.
  const executions = executionsByJob(await fs.executions());
  const jobs = new Map<string, JobFacts>();
  for (const r of rows) {
    jobs.set(r.id, {
      id: r.id,
      status: r.status,
      attempts: r.attempts,
      lastSeq: r.last_seq,
      trail: r.trail,
      executions: executions.get(r.id) ?? 0,
    });
  }
  return jobs;
}

/** Why the system has not settled yet, or undefined once it has. */
function unsettled(jobs: Map<string, JobFacts>, acked: readonly string[]): string | undefined {
  const missing = acked.filter((id) => !jobs.has(id));
  if (missing.length > 0) return `${missing.length} acknowledged jobs not in history, e.g. ${missing[0]}`;
  const open = [...jobs.values()].filter((j) => !TERMINAL.has(j.status) || j.trail.length < j.lastSeq);
  if (open.length > 0) return `${open.length} jobs open, e.g. ${summary(open[0]!)}`;
  return undefined;
}

function jobViolations(jobs: Map<string, JobFacts>, opts: InvariantOptions): string[] {
  const problems: string[] = [];
  for (const id of opts.acked) if (!jobs.has(id)) problems.push(`${id}: acknowledged but lost`);
  for (const job of jobs.values()) {
    const say = (what: string): number => problems.push(`${summary(job)}: ${what}`);
    const { trail } = job;
    if (!TERMINAL.has(job.status)) say("not terminal");
    if (!trail.every((e, i) => e.seq === i + 1)) say("trail has gaps or repeats");
    if (trail.length !== job.lastSeq) say(`trail has ${trail.length} events, job says ${job.lastSeq}`);
    if (trail[0]?.type !== "submitted") say("trail does not start with submitted");
    if (!trail.every((e, i) => i === 0 || e.occurred_ms >= trail[i - 1]!.occurred_ms)) say("trail out of time order");
    const terminalEvents = trail.filter((e) => TERMINAL.has(e.status));
    if (terminalEvents.length !== 1) say(`${terminalEvents.length} terminal events`);
    if (trail.at(-1)?.status !== job.status) say("trail does not end with the job's terminal event");
    const explained = 1 + trail.filter((e) => RERUN_EVENTS.has(e.type)).length + (opts.extraExecutions?.(job.id) ?? 0);
    if (job.executions > explained) say(`ran ${job.executions} times, ${explained} explained`);
    if (job.status === "completed" && job.executions === 0) say("completed without running");
  }
  return problems;
}

/** The public API must tell what the database holds (a sample of acknowledged jobs). */
async function expectClientAgrees(fs: FaultStack, jobs: Map<string, JobFacts>, acked: readonly string[]): Promise<void> {
  const sample = acked.slice(0, 25);
  const seen = await Promise.all(
    sample.map(async (id) => {
      const [job, events] = await Promise.all([fs.client.get(id), fs.client.events(id)]);
      return { id, status: STATUS_TEXT[job.status], events: events.length };
    }),
  );
  expect(seen).toEqual(sample.map((id) => ({ id, status: jobs.get(id)!.status, events: jobs.get(id)!.trail.length })));
}

/**
 * Where Redis disagrees with PostgreSQL once every job is terminal: an id left in a ready,
 * delayed or leased set, a job hash whose status differs from history's, an id history does not
 * know, outbox entries history does not hold, or dead letters.
 */
async function redisViolations(fs: FaultStack, jobs: Map<string, JobFacts>): Promise<string[]> {
  const { redis, stack } = fs;
  const problems: string[] = [];
  for await (const batch of redis.scanStream({ match: `${stack.keyPrefix}:*`, count: 500 })) {
    for (const key of batch as string[]) {
      const set = /:(ready|delayed|leased)$/.exec(key)?.[1];
      if (set !== undefined) {
        for (const id of await redis.zrange(key, "0", "-1")) {
          const job = jobs.get(id);
          problems.push(job === undefined ? `${set} holds ${id}, unknown to history` : `${set} holds ${summary(job)}`);
        }
      } else if (key.endsWith(":outbox")) {
        problems.push(...(await outboxViolations(redis, key, jobs)));
      } else if (key.endsWith(":outbox-dead")) {
        // Parked entries are transitions history refused: never expected here.
        const length = await redis.xlen(key);
        if (length > 0) problems.push(`${key} holds ${length} dead letters`);
      } else {
        const id = /:job:(.+)$/.exec(key)?.[1];
        if (id === undefined) continue;
        const status = await redis.hget(key, "status");
        const job = jobs.get(id);
        if (job === undefined) problems.push(`hash of ${id}, unknown to history`);
        else if (status !== job.status) problems.push(`hash says ${status} for ${summary(job)}`);
      }
    }
  }
  return problems;
}

/**
 * Entries left in an outbox must be transitions history already holds: a forward that reached
 * history but whose acknowledgement died with its scheduler stays pending until another
 * replica claims it (after OUTBOX_CLAIM_IDLE_MS, 15 s by default) and sends it again,
 * harmlessly. An entry history lacks, or that differs from what history holds at that seq, is
 * a disagreement.
 */
async function outboxViolations(redis: FaultStack["redis"], key: string, jobs: Map<string, JobFacts>): Promise<string[]> {
  const problems: string[] = [];
  for (const [id, flat] of await redis.xrange(key, "-", "+")) {
    const fields = new Map<string, string>();
    for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i]!, flat[i + 1]!);
    const job = jobs.get(fields.get("job") ?? "");
    const seq = Number(fields.get("seq"));
    const recorded = job?.trail[seq - 1];
    if (recorded === undefined || recorded.seq !== seq || recorded.type !== fields.get("type")?.toLowerCase()) {
      problems.push(`${key} entry ${id} (${fields.get("job")} seq ${seq} ${fields.get("type")}) is not in history`);
    }
  }
  return problems;
}

const summary = (job: JobFacts): string =>
  `${job.id} (${job.status}, trail ${job.trail.map((e) => e.type).join(">")}, ran ${job.executions})`;

/**
 * The trail with every lapse from index `from` on taken out: a lease_expired directly followed
 * by the started of the next attempt. Under heavy load a worker's heartbeats can miss a whole
 * (1 s) lease; the job then simply runs again, which the invariants already bound. A case
 * compares what its own fault must leave in the trail without those.
 */
export function withoutLapses(trail: readonly TrailEvent[], from = 0): TrailEvent[] {
  const kept = trail.slice(0, from);
  for (let i = from; i < trail.length; i++) {
    if (trail[i]!.type === "lease_expired" && trail[i + 1]?.type === "started") i += 1;
    else kept.push(trail[i]!);
  }
  return kept;
}
