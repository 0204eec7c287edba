import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { WorkerStatus, type WorkerService } from "@taskflow/proto";
import { v7 as uuidv7 } from "uuid";
import type { Deps } from "../deps.js";
import { invalidArgument } from "../errors.js";
import type { WorkerRegistration } from "../redis/worker-registry.js";
import { checkQueues, checkWorkerId, NAME_PATTERN } from "../validate.js";
import { workerRecord } from "./worker-presence.js";

/** Heartbeats per lease: a worker may miss two before its leases lapse. */
export const HEARTBEATS_PER_LEASE = 3;

/**
 * RegisterWorker: records the worker (HEALTHY) in history and tells it how
 * long leases last and how often to heartbeat.
 * @throws invalid_argument for a bad id, queue or job type; unavailable when history is down.
 */
export const registerWorker =
  (d: Deps): ServiceImpl<typeof WorkerService>["registerWorker"] =>
  async (req, ctx) => {
    const id = req.workerId === "" ? `worker-${uuidv7()}` : req.workerId;
    checkWorkerId(id);
    checkQueues(req.queues);
    req.jobTypes.forEach((t, i) => {
      if (!NAME_PATTERN.test(t)) throw invalidArgument(`job_types[${i}]`, "must be a job type name");
    });
    if (req.concurrency < 0) throw invalidArgument("concurrency", "must not be negative");
    const reg: WorkerRegistration = {
      id,
      queues: req.queues,
      jobTypes: req.jobTypes,
      concurrency: req.concurrency,
      hostname: req.hostname,
      metadata: req.metadata,
      startedMs: Date.now(),
    };
    await d.workers.save(reg);
    await d.history.upsertWorkers([workerRecord(id, WorkerStatus.HEALTHY, reg)], ctx.signal);
    return {
      workerId: id,
      leaseDuration: durationFromMs(d.config.leaseMs),
      heartbeatInterval: durationFromMs(Math.floor(d.config.leaseMs / HEARTBEATS_PER_LEASE)),
    };
  };
