import { ConnectError } from "@connectrpc/connect";
import { JobStatus } from "@taskflow/proto";
import type { ScanStep } from "../redis/recovery-store.js";
import type { SetWalk } from "../redis/reconcile-state.js";
import type { ReconcileRun, WalkProgress } from "./reconcile-run.js";

/** Members asked of a sorted set per ZSCAN step; bounds how long one step blocks Redis. */
export const SCAN_COUNT = 500;
/** Most ids per GetJobStates call (history's limit). */
export const MAX_STATE_IDS = 1_000;

const TERMINAL = new Set([JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Second pass: walks the queues' ready (one set per type), delayed and leased sets with ZSCAN
 * (bounded steps, never a whole set in one call), queue by queue in name order, from `start`,
 * asks history about each step's jobs, and drops from Redis the jobs history has finished and
 * those it does not know that were created before the cutoff (debris: a job is in history
 * before it is in Redis, so after the grace period an unknown one never will be). Stops after
 * `budget` jobs; the next run goes on from where this one stopped. A job moving between sets
 * during the walk may be seen twice or not at all; the next walk catches it.
 * @returns where the next walk goes on; undefined when this one went round every queue.
 * @throws unavailable when history or Redis fails.
 */
export async function dropFinishedJobs(run: ReconcileRun, start: SetWalk | undefined, budget: number): Promise<WalkProgress> {
  const queues = (await run.store.knownQueues()).sort();
  const from = start === undefined ? 0 : queues.findIndex((q) => q >= start.queue);
  if (from < 0) return { next: undefined };
  const dropped = new Set<string>();
  let checked = 0;
  for (const queue of queues.slice(from)) {
    const sets = await setsOf(run, queue);
    const resume = start !== undefined && start.queue === queue ? start : undefined;
    for (const set of sets.filter((k) => resume === undefined || k >= resume.set)) {
      let cursor = resume !== undefined && set === resume.set ? resume.cursor : "0";
      do {
        if (checked >= budget) return { next: { queue, set, cursor } };
        run.signal.throwIfAborted();
        const step = await scanStep(run, queue, set, cursor);
        cursor = step.cursor;
        checked += step.ids.length;
        for (let i = 0; i < step.ids.length; i += MAX_STATE_IDS) {
          await checkJobs(run, queue, seenTypeOf(run, queue, set), step.ids.slice(i, i + MAX_STATE_IDS), dropped);
        }
      } while (cursor !== "0");
    }
  }
  return { next: undefined };
}

/** The sets of a queue the walk visits, in name order: delayed, leased, then a ready set per type. */
async function setsOf(run: ReconcileRun, queue: string): Promise<string[]> {
  const k = run.recovery.keys(queue);
  const types = await run.recovery.readyTypes(queue);
  return [k.delayed, k.leased, ...types.map((t) => k.ready(t))].sort();
}

/** The type whose ready set `set` is, or "" for the delayed and leased sets. */
function seenTypeOf(run: ReconcileRun, queue: string, set: string): string {
  const prefix = run.recovery.keys(queue).readyPrefix;
  return set.startsWith(prefix) ? set.slice(prefix.length) : "";
}

/** One ZSCAN step; Redis refusing the walk of one set (a key of the wrong type) ends that set only. */
async function scanStep(run: ReconcileRun, queue: string, set: string, cursor: string): Promise<ScanStep> {
  try {
    return await run.recovery.scan(set, cursor, SCAN_COUNT);
  } catch (err) {
    if (err instanceof ConnectError || run.signal.aborted) throw err;
    run.logger.error({ err, queue, key: set }, "queue set not reconciled");
    return { cursor: "0", ids: [] };
  }
}

async function checkJobs(
  run: ReconcileRun,
  queue: string,
  seenType: string,
  ids: readonly string[],
  dropped: Set<string>,
): Promise<void> {
  run.report.redisChecked += ids.length;
  const known = await run.history.getJobStates(ids.filter((id) => UUID.test(id)), run.signal);
  const status = new Map(known.map((s) => [s.id, s.status]));
  const finished: string[] = [];
  const debris: string[] = [];
  for (const id of ids) {
    if (dropped.has(id)) continue;
    const s = status.get(id);
    if (s === undefined && createdMs(id) < run.cutoffMs) debris.push(id);
    else if (s !== undefined && TERMINAL.has(s)) finished.push(id);
  }
  const drop = [...finished, ...debris];
  if (drop.length === 0) return;
  if (debris.length > 0) run.logger.warn({ queue, job_ids: debris }, "jobs unknown to history dropped from redis");
  if (finished.length > 0) run.logger.info({ queue, job_ids: finished }, "finished jobs dropped from redis");
  if (!run.dryRun && !(await dropOrSkip(run, queue, drop.map((id) => ({ id, seenType }))))) return;
  for (const id of drop) dropped.add(id);
  run.report.droppedJobIds.push(...drop);
}

async function dropOrSkip(run: ReconcileRun, queue: string, jobs: { id: string; seenType: string }[]): Promise<boolean> {
  try {
    await run.recovery.drop(queue, jobs);
    return true;
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    run.report.skippedJobIds.push(...jobs.map((j) => j.id));
    run.logger.error({ err, queue, job_ids: jobs.map((j) => j.id) }, "jobs not reconciled");
    return false;
  }
}

/**
 * When the job was created: a UUIDv7 starts with its creation time in ms. Anything else in a
 * queue set is not a job id this scheduler made, so it counts as created long ago.
 */
function createdMs(id: string): number {
  if (!UUID.test(id) || id[14] !== "7") return 0;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
