/** What the bench's child processes are told and answer, over Node's IPC channel. */

/** Where a system under test is reached. */
export type Target =
  | { system: "taskflow"; schedulerUrl: string; historyUrl: string }
  | { system: "bullmq"; redisUrl: string; prefix: string };

/** The job type every bench job has (TaskFlow's type; BullMQ's job name). */
export const BENCH_JOB_TYPE = "echo";

/** What a producer submits and how. */
export interface ProducerTask {
  target: Target;
  queue: string;
  jobs: number;
  /**
   * "batches": one call after another, each of `batch` jobs (throughput). "open": one job per
   * call at `rate` calls per second whatever the answers (an open loop: latency).
   */
  mode: "batches" | "open";
  batch: number;
  rate: number;
  /** Open loop only: each job is due this many ms after its submit, drawn uniformly from [min, max). */
  delayMs?: { min: number; max: number };
  /**
   * Open loop only: jobs submitted the same way first, unmeasured, so that every process is
   * warm when the clock starts. The producer then says "warm" and waits for "go".
   */
  warmUp?: number;
}

/** Jobs a producer submits before its clock starts, on top of the task's `jobs`. */
export const WARM_UP_JOBS = 1;

/** What a producer reports when it is done. */
export interface ProducerResult {
  /** Date.now() before the first call and after the last answer. */
  startedMs: number;
  endedMs: number;
  /** How long each answered call took, in ms. */
  callsMs: number[];
  /** Calls that failed (open loop only: an overloaded system refusing or timing out). */
  refused: number;
  /** CPU time the producer spent from its first to its last call, in ms. */
  cpuMs: number;
}

/** A worker: one process, running up to `concurrency` jobs at once. */
export interface WorkerTask {
  target: Target;
  queue: string;
  concurrency: number;
}

/** Child → parent. */
export type ChildMessage =
  | { kind: "ready" }
  | { kind: "listening"; port: number }
  | { kind: "started"; atMs: number }
  | { kind: "warm"; refused: number }
  | { kind: "done"; result: ProducerResult }
  | { kind: "failed"; error: string };

/** Parent → worker child: start consuming, or stop and exit. Parent → producer: start the measured run after the warm-up. */
export type WorkerCommand = { kind: "go" } | { kind: "stop" };

/**
 * A bench job's payload, about 120 bytes of JSON: when it was submitted (`t`, ms since the
 * epoch), when it is due when delayed (`due`), and padding.
 */
export interface BenchPayload {
  [key: string]: string | number;
  t: number;
  pad: string;
}

const PAYLOAD_BYTES = 120;

export function benchPayload(nowMs: number, dueMs?: number): BenchPayload {
  const base: BenchPayload = dueMs === undefined ? { t: nowMs, pad: "" } : { t: nowMs, due: dueMs, pad: "" };
  return { ...base, pad: "x".repeat(Math.max(0, PAYLOAD_BYTES - JSON.stringify(base).length)) };
}

/** What every bench handler returns: when it started, in ms since the epoch. */
export interface BenchResult {
  [key: string]: number;
  s: number;
}

/** Reads this child's task from its first argument. */
export function taskFromArgv<T>(): T {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error("a bench child process takes its task as JSON in its first argument");
  return JSON.parse(raw) as T;
}

/** Sends a message to the parent. */
export function tell(message: ChildMessage): void {
  process.send?.(message);
}
