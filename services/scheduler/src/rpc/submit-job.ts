import type { ServiceImpl } from "@connectrpc/connect";
import type { SchedulerService } from "@taskflow/proto";
import { actorOf, identityOf } from "@taskflow/service-kit";
import type { Deps } from "../deps.js";
import { parseSubmitJob } from "../validate.js";
import { acceptJobs } from "./submit-jobs.js";

/** SubmitJob: one job through the same path (and rate limit) as a batch of one. */
export const submitJob =
  (d: Deps): ServiceImpl<typeof SchedulerService>["submitJob"] =>
  async (req, ctx) => {
    const actor = actorOf(ctx, "api");
    const job = parseSubmitJob(req, d.config);
    await d.submitLimiter.take(identityOf(ctx).name, 1);
    const [stored] = await acceptJobs(d, [job], actor, ctx.signal);
    return { job: stored };
  };
