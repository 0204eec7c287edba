import type { ServiceImpl } from "@connectrpc/connect";
import { JobStatus, type SchedulerService } from "@taskflow/proto";
import { actorOf } from "@taskflow/service-kit";
import type { Deps } from "../deps.js";
import { invalidArgument, jobFinished } from "../errors.js";
import { checkJobId, checkText } from "../validate.js";
import { cancelLostJob } from "./cancel-lost-job.js";

/** Longest cancel reason kept in the audit trail, in characters. */
export const MAX_REASON_LENGTH = 1_024;

const TERMINAL = new Set([JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED]);

/**
 * CancelJob: a pending job ends CANCELLED at once; a running one is flagged
 * and its worker stops at its next heartbeat. A job history holds as unfinished
 * but Redis does not is cancelled with a tombstone written first (see {@link cancelLostJob}).
 * The caller ("api:<name>" of the verified identity, plain "api" with authentication off) is the actor of a CANCELLED
 * written now; a running job's CANCELLED, written by whoever ends the attempt, names it in
 * `details.requested_by`.
 * @throws invalid_argument for a bad id, reason or caller header; not_found for an unknown id;
 * failed_precondition when the job already finished; unavailable when a store cannot be
 * reached (retry).
 */
export const cancelJob =
  (d: Deps): ServiceImpl<typeof SchedulerService>["cancelJob"] =>
  async (req, ctx) => {
    const actor = actorOf(ctx, "api");
    checkJobId(req.id, "id");
    if (req.reason.length > MAX_REASON_LENGTH) {
      throw invalidArgument("reason", `must be at most ${MAX_REASON_LENGTH} characters`);
    }
    checkText(req.reason, "reason");
    const job = await d.history.getJob(req.id, ctx.signal);
    if (TERMINAL.has(job.status)) throw jobFinished(job.id);
    const by = { reason: req.reason, actor };
    const outcome = await d.store.cancel(job.queue, job.id, by);
    if (outcome === "missing") return { id: job.id, status: await cancelLostJob(d, job, by, ctx.signal) };
    if (outcome === "cancelled") d.eventsWritten();
    return { id: job.id, status: outcome === "cancelled" ? JobStatus.CANCELLED : JobStatus.PROCESSING };
  };
