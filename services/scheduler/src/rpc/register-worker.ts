import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { WorkerStatus, type WorkerService } from "@taskflow/proto";
import { v7 as uuidv7 } from "uuid";
import { identityOf } from "@taskflow/service-kit";
import type { Deps } from "../deps.js";
import { invalidArgument } from "../errors.js";
import type { WorkerRegistration } from "../redis/worker-registry.js";
import { checkQueues, checkText, checkWorkerId, NAME_PATTERN } from "../validate.js";
import { workerRecord } from "./worker-presence.js";

/** Heartbeats per lease: a worker may miss two before its leases lapse. */
export const HEARTBEATS_PER_LEASE = 3;

/** Longest hostname, in characters (DNS allows 253). */
export const MAX_HOSTNAME_LENGTH = 255;
/** Most metadata entries, and the longest key and value, in characters. */
export const MAX_METADATA_ENTRIES = 64;
export const MAX_METADATA_KEY_LENGTH = 128;
export const MAX_METADATA_VALUE_LENGTH = 1_024;

/** The free-form part of a registration, bounded and storable, checked before anything is saved. */
function checkDescription(hostname: string, metadata: Record<string, string>): void {
  if (hostname.length > MAX_HOSTNAME_LENGTH) {
    throw invalidArgument("hostname", `must be at most ${MAX_HOSTNAME_LENGTH} characters`);
  }
  checkText(hostname, "hostname");
  const entries = Object.entries(metadata);
  if (entries.length > MAX_METADATA_ENTRIES) {
    throw invalidArgument("metadata", `must hold at most ${MAX_METADATA_ENTRIES} entries`);
  }
  for (const [key, value] of entries) {
    const at = `metadata[${JSON.stringify(key.slice(0, MAX_METADATA_KEY_LENGTH))}]`;
    if (key === "" || key.length > MAX_METADATA_KEY_LENGTH) {
      throw invalidArgument(`${at} key`, `must be 1 to ${MAX_METADATA_KEY_LENGTH} characters`);
    }
    if (value.length > MAX_METADATA_VALUE_LENGTH) {
      throw invalidArgument(at, `must be at most ${MAX_METADATA_VALUE_LENGTH} characters`);
    }
    checkText(key, `${at} key`);
    checkText(value, at);
  }
}

/**
 * RegisterWorker: records the worker (HEALTHY) in history and tells it how
 * long leases last and how often to heartbeat. The worker id belongs to the calling identity
 * while its registration lasts (heartbeats and deregistrations by another are refused).
 * @throws invalid_argument for a bad id, queue, job type, hostname or metadata (before anything
 *   is saved); permission_denied for an id another identity registered; unavailable when
 *   history is down.
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
    checkDescription(req.hostname, req.metadata);
    const reg: WorkerRegistration = {
      id,
      queues: req.queues,
      jobTypes: req.jobTypes,
      concurrency: req.concurrency,
      hostname: req.hostname,
      metadata: req.metadata,
      startedMs: Date.now(),
      identity: identityOf(ctx).name || undefined,
    };
    await d.workers.save(reg);
    await d.presence.send(workerRecord(id, WorkerStatus.HEALTHY, reg));
    return {
      workerId: id,
      leaseDuration: durationFromMs(d.config.leaseMs),
      heartbeatInterval: durationFromMs(Math.floor(d.config.leaseMs / HEARTBEATS_PER_LEASE)),
    };
  };
