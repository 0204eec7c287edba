import { Code, ConnectError } from "@connectrpc/connect";
import { type Job, JobStatus } from "@taskflow/proto";
import { groupByQueue, requeueQueue, skip } from "./reconcile-unfinished.js";
import type { ReconcileRun } from "./reconcile-run.js";

/** Most noted retries one run looks at; the next run takes the rest. */
export const RETRIES_PER_RUN = 1_000;

/**
 * Retries that stopped between history and Redis: RetryJob(s) notes each job in Redis before
 * history reopens it and forgets it once Redis holds it again, so a note older than the grace
 * period is a retry that went no further. Pass one cannot see those jobs (they are old, behind its
 * cursor); this puts back the ones history holds as pending that Redis lacks or holds as a stale
 * tombstone, as pass one would, and forgets every note it read (a job history did not reopen, or
 * that runs already, needs nothing).
 * @throws unavailable when history or Redis fails (the notes stay for the next run).
 */
export async function requeueStoppedRetries(run: ReconcileRun): Promise<void> {
  const noted = await run.recovery.retriesBefore(run.cutoffMs, RETRIES_PER_RUN);
  if (noted.length === 0) return;
  const states = await run.history.getJobStates(noted.map((n) => n.id), run.signal);
  const jobs: Job[] = [];
  for (const state of states.filter((s) => s.status === JobStatus.PENDING)) {
    try {
      jobs.push(await run.history.getJob(state.id, run.signal));
    } catch (err) {
      // Gone since (retention): nothing to put back. Anything else stops the run.
      if (ConnectError.from(err).code !== Code.NotFound) throw err;
      skip(run, noted.find((n) => n.id === state.id)?.queue ?? "", state.id, err);
    }
  }
  run.report.unfinishedChecked += jobs.length;
  for (const [queue, group] of groupByQueue(jobs)) await requeueQueue(run, queue, group);
  if (!run.dryRun) await run.recovery.forgetRetries(noted);
}
