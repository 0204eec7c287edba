import type { ServiceImpl } from "@connectrpc/connect";
import { JobStatus, type SchedulerService } from "@taskflow/proto";
import type { Deps } from "../deps.js";
import { invalidArgument, jobFinished } from "../errors.js";
import { checkJobId, containsNul } from "../validate.js";

/** Longest cancel reason kept in the audit trail, in characters. */
export const MAX_REASON_LENGTH = 1_024;

const TERMINAL = new Set([JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED]);

/**
 * CancelJob: a pending job ends CANCELLED at once; a running one is flagged
 * and its worker stops at its next heartbeat.
 * @throws not_found for an unknown id; failed_precondition when the job already
 * finished; unavailable when Redis does not hold the job yet (retry).
 */
export const cancelJob =
  (d: Deps): ServiceImpl<typeof SchedulerService>["cancelJob"] =>
  async (req, ctx) => {
    checkJobId(req.id, "id");
    if (req.reason.length > MAX_REASON_LENGTH) {
      throw invalidArgument("reason", `must be at most ${MAX_REASON_LENGTH} characters`);
    }
    if (containsNul(req.reason)) throw invalidArgument("reason", "must not contain NUL");
    const job = await d.history.getJob(req.id, ctx.signal);
    if (TERMINAL.has(job.status)) throw jobFinished(job.id);
    const outcome = await d.store.cancel(job.queue, job.id, req.reason);
    if (outcome === "cancelled") d.eventsWritten();
    return { id: job.id, status: outcome === "cancelled" ? JobStatus.CANCELLED : JobStatus.PROCESSING };
  };
