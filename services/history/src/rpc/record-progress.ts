import type { ServiceImpl } from "@connectrpc/connect";
import { progressProblem, type HistoryIngestService, type ProgressUpdate } from "@taskflow/proto";
import { notifyJobEvents } from "../db/job-notifications.js";
import { recordProgress as storeProgress, type ProgressInput } from "../db/queries/record-progress.js";
import { invalidArgument } from "../errors.js";
import { observeIngest } from "../metrics.js";
import type { HistoryDeps } from "./deps.js";
import { intIn, requireUuid, toDate } from "./validate.js";

/** Most updates one RecordProgress call takes. */
export const MAX_PROGRESS_UPDATES = 1_000;

/**
 * RecordProgress: stores the latest progress of each job in one statement (no audit trail
 * event), then wakes the watchers of the jobs it changed (WatchJob, WatchJobs) on every replica.
 * Values older than the stored ones change nothing. InvalidArgument, storing nothing, for an
 * empty or oversized batch, a job named twice, or a malformed update.
 */
export const recordProgress =
  (d: HistoryDeps): ServiceImpl<typeof HistoryIngestService>["recordProgress"] =>
  async (req) => {
    if (req.updates.length === 0 || req.updates.length > MAX_PROGRESS_UPDATES) {
      throw invalidArgument(`updates: must hold 1 to ${MAX_PROGRESS_UPDATES} updates`);
    }
    const updates = req.updates.map(parseUpdate);
    const ids = new Set<string>();
    for (const [i, u] of updates.entries()) {
      if (ids.has(u.jobId)) throw invalidArgument(`updates[${i}].job_id: names a job named before`);
      ids.add(u.jobId);
    }
    const changed = await observeIngest(d.metrics, "RecordProgress", updates.length, () => storeProgress(d.db, updates));
    if (changed.length > 0) await notifyJobEvents(d.db, changed);
    return { recorded: changed.length };
  };

function parseUpdate(u: ProgressUpdate, i: number): ProgressInput {
  const at = `updates[${i}]`;
  const jobId = requireUuid(u.jobId, `${at}.job_id`);
  const p = u.progress;
  if (p === undefined) throw invalidArgument(`${at}.progress: must be set`);
  const details = p.details ?? {};
  const problem = progressProblem(p.percent, details);
  if (problem !== undefined) throw invalidArgument(`${at}.progress: ${problem}`);
  if (p.updatedAt === undefined) throw invalidArgument(`${at}.progress.updated_at: must be set`);
  return {
    jobId,
    percent: p.percent,
    details,
    at: toDate(p.updatedAt, `${at}.progress.updated_at`),
    attempt: intIn(p.attempt, 1, 2_147_483_647, `${at}.progress.attempt`),
  };
}
