import type { ServiceImpl } from "@connectrpc/connect";
import type { WorkerService } from "@taskflow/proto";
import type { Deps } from "../deps.js";
import { checkWorkerId } from "../validate.js";
import { groupByQueue, parseLeases } from "./lease-refs.js";

/**
 * ReleaseJobs: hands leased jobs back unrun (graceful shutdown); they are
 * ready again at once and the attempt does not count. Leases that are no
 * longer held are skipped.
 * @throws invalid_argument for a bad worker id or lease.
 */
export const releaseJobs =
  (d: Deps): ServiceImpl<typeof WorkerService>["releaseJobs"] =>
  async (req) => {
    checkWorkerId(req.workerId);
    const groups = [...groupByQueue(parseLeases(req.leases, "leases"))];
    const results = await Promise.all(groups.map(([queue, leases]) => d.store.release(queue, req.workerId, leases)));
    const released = results.reduce((n, r) => n + r.released, 0);
    if (released > 0) {
      d.eventsWritten();
      await d.waiters.announce(groups.map(([queue], i) => ({ queue, ready: results[i]!.ready })));
    }
    return { released };
  };
