import type { ServiceImpl } from "@connectrpc/connect";
import type { WorkerService } from "@taskflow/proto";
import type { Deps } from "../deps.js";
import { checkWorkerId } from "../validate.js";
import { workerActor } from "../worker-actor.js";
import { groupByQueue, parseLeases } from "./lease-refs.js";

/**
 * ReleaseJobs: hands leased jobs back (graceful shutdown); they are ready again at once. Unrun
 * jobs get their attempt back; with `attempts_ran` (the handlers ran and were stopped) the
 * attempt counts, so a job stopped on its last attempt fails (attempts_exhausted) rather than
 * running forever across rollouts. Leases that are no longer held are skipped.
 * @throws invalid_argument for a bad worker id or lease.
 */
export const releaseJobs =
  (d: Deps): ServiceImpl<typeof WorkerService>["releaseJobs"] =>
  async (req, ctx) => {
    checkWorkerId(req.workerId);
    const groups = [...groupByQueue(parseLeases(req.leases, "leases"))];
    const opts = { attemptsRan: req.attemptsRan, actor: workerActor(ctx, req.workerId) };
    const results = await Promise.all(groups.map(([queue, leases]) => d.store.release(queue, req.workerId, leases, opts)));
    const released = results.reduce((n, r) => n + r.released, 0);
    if (released > 0) {
      d.eventsWritten();
      await d.waiters.announce(groups.map(([queue], i) => ({ queue, ready: results[i]!.ready })));
    }
    return { released };
  };
