import { resolveOptions } from "./resolve-options.js";
import { TaskFlowWorker } from "./task-flow-worker.js";
import type { Worker, WorkerOptions } from "./types.js";

/**
 * Creates a worker that runs `handlers` for jobs leased from `queues` of the scheduler.
 *
 * `start()` registers (retrying while the scheduler is unreachable), then leases with one long
 * poll at a time while a slot is free, heartbeats every interval the scheduler asks for, and
 * reports outcomes in batches. Each attempt's signal aborts at its deadline, on cancellation,
 * when its lease is lost, and on shutdown past the grace period.
 *
 * `stop()` (also on SIGTERM/SIGINT with `handleSignals`) stops leasing at once, lets running
 * jobs finish within `shutdownGraceMs`, aborts the rest and waits up to `abortWaitMs` for them
 * to settle (a result is reported; the others are handed back with ReleaseJobs, the attempt
 * counted), flushes reports and deregisters. It is idempotent.
 * @throws RangeError when an option is out of range.
 */
export function createWorker(options: WorkerOptions): Worker {
  return new TaskFlowWorker(resolveOptions(options));
}
