import { Code, ConnectError } from "@connectrpc/connect";
import type { Job } from "@taskflow/proto";
import type { Deps } from "../deps.js";
import type { LastRun } from "../redis/schedule-store.js";
import { acceptJobs } from "../rpc/submit-jobs.js";
import { jobOfRun, type ScheduleDef } from "./parse-schedule.js";

/** Actor of the jobs a schedule's ticks submit (a trigger's are the caller's). */
export const SCHEDULE_ACTOR = "scheduler:schedules";

const UNFINISHED = new Set(["pending", "processing"]);

/** What one run did. */
export interface RunOutcome {
  /** The job submitted; undefined when SKIP held the run back. */
  job: Job | undefined;
  /** The previous run's id when CANCEL_PREVIOUS cancelled it. */
  cancelledJobId: string;
}

/** The idempotency key of a tick's run: one job per schedule and tick, however often it is fired. */
export const tickKey = (scheduleId: string, tickMs: number): string => `schedule:${scheduleId}:${tickMs}`;

/** The idempotency key of a triggered run: one job per schedule and request id. */
export const triggerKey = (scheduleId: string, requestId: string): string => `schedule:${scheduleId}:trigger:${requestId}`;

/**
 * Submits one run of `def` for the tick `runAtMs` (undefined: now) under its overlap policy, through the submit path
 * (history first, then Redis) with `key` as its idempotency key, so a run fired again (a
 * firing taken over, a trigger retried) answers the job already submitted. `previous` is the
 * schedule's last run: SKIP submits nothing while it is pending or processing,
 * CANCEL_PREVIOUS cancels it first.
 * @throws unavailable when a store cannot be reached (nothing was submitted, or the retry
 *   finds the job).
 */
export async function fireRun(d: Deps, def: ScheduleDef, runAtMs: number | undefined, key: string, actor: string, previous: LastRun | undefined, signal: AbortSignal): Promise<RunOutcome> {
  const running = previous !== undefined && UNFINISHED.has(await d.schedules.jobStatus(previous.queue, previous.jobId));
  if (running && def.overlap === "skip") return { job: undefined, cancelledJobId: "" };
  const cancelledJobId = running && def.overlap === "cancel_previous" ? await cancelPrevious(d, def, previous, actor) : "";
  const job = jobOfRun(def, runAtMs, key, d.config);
  const [stored] = await acceptJobs(d, [job], actor, signal);
  return { job: stored, cancelledJobId };
}

/** Cancels the previous run; resolves to its id, or "" when it finished meanwhile. */
async function cancelPrevious(d: Deps, def: ScheduleDef, previous: LastRun, actor: string): Promise<string> {
  try {
    const outcome = await d.store.cancel(previous.queue, previous.jobId, { reason: `schedule ${def.id}: overlap policy CANCEL_PREVIOUS`, actor });
    if (outcome === "cancelled") d.eventsWritten();
    return outcome === "missing" ? "" : previous.jobId;
  } catch (err) {
    if (err instanceof ConnectError && err.code === Code.FailedPrecondition) return "";
    throw err;
  }
}
