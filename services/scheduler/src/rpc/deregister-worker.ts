import type { ServiceImpl } from "@connectrpc/connect";
import { WorkerStatus, type WorkerService } from "@taskflow/proto";
import { identityOf } from "@taskflow/service-kit";
import type { Deps } from "../deps.js";
import { checkWorkerId } from "../validate.js";
import { workerRecord } from "./worker-presence.js";

/**
 * DeregisterWorker: marks the worker GONE in history, after any record of it a heartbeat left
 * unsent (so none overwrites the departure). Best effort towards history: a departing worker
 * must not hang on it, and history marks silent workers gone by itself.
 * @throws invalid_argument for a bad worker id.
 */
export const deregisterWorker =
  (d: Deps): ServiceImpl<typeof WorkerService>["deregisterWorker"] =>
  async (req, ctx) => {
    checkWorkerId(req.workerId);
    const reg = await d.workers.forget(req.workerId, identityOf(ctx).name);
    try {
      await d.presence.send(workerRecord(req.workerId, WorkerStatus.GONE, reg));
    } catch (err) {
      d.logger.warn({ err, worker_id: req.workerId }, "worker departure not recorded");
    }
    return {};
  };
