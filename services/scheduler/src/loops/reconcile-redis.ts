import { ConnectError } from "@connectrpc/connect";
import { JobStatus } from "@taskflow/proto";
import type { ReconcileRun } from "./reconcile-run.js";

/** Members asked of a sorted set per ZSCAN step; bounds how long one step blocks Redis. */
export const SCAN_COUNT = 500;
/** Most ids per GetJobStates call (history's limit). */
export const MAX_STATE_IDS = 1_000;

const TERMINAL = new Set([JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Second pass: walks every queue's ready, delayed and leased sets with ZSCAN (bounded steps,
 * never a whole set in one call), asks history about each step's jobs, and drops from Redis
 * the jobs history has finished and those it does not know that were created before the
 * cutoff (debris: a job is in history before it is in Redis, so after the grace period an
 * unknown one never will be). A job moving between sets during the walk may be seen twice or
 * not at all; the next run catches it.
 * @throws unavailable when history or Redis fails.
 */
export async function dropFinishedJobs(run: ReconcileRun, dropped: Set<string>): Promise<void> {
  for (const queue of await run.store.knownQueues()) {
    const k = run.recovery.keys(queue);
    for (const zset of [k.ready, k.delayed, k.leased]) {
      try {
        await walkSet(run, queue, zset, dropped);
      } catch (err) {
        // Redis refusing the walk (a key of the wrong type) spoils this set only.
        if (err instanceof ConnectError || run.signal.aborted) throw err;
        run.logger.error({ err, queue, key: zset }, "queue set not reconciled");
      }
    }
  }
}

async function walkSet(run: ReconcileRun, queue: string, zset: string, dropped: Set<string>): Promise<void> {
  let cursor = "0";
  do {
    run.signal.throwIfAborted();
    const step = await run.recovery.scan(zset, cursor, SCAN_COUNT);
    cursor = step.cursor;
    for (let i = 0; i < step.ids.length; i += MAX_STATE_IDS) {
      await checkJobs(run, queue, step.ids.slice(i, i + MAX_STATE_IDS), dropped);
    }
  } while (cursor !== "0");
}

async function checkJobs(run: ReconcileRun, queue: string, ids: readonly string[], dropped: Set<string>): Promise<void> {
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
  if (!run.dryRun && !(await dropOrSkip(run, queue, drop))) return;
  for (const id of drop) dropped.add(id);
  run.report.droppedJobIds.push(...drop);
}

async function dropOrSkip(run: ReconcileRun, queue: string, ids: string[]): Promise<boolean> {
  try {
    await run.recovery.drop(queue, ids);
    return true;
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    run.report.skippedJobIds.push(...ids);
    run.logger.error({ err, queue, job_ids: ids }, "jobs not reconciled");
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
