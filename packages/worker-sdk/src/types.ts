import type { ClientCredentials } from "@taskflow/client";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { Logger } from "pino";

/** What a handler knows about the attempt it runs. */
export interface JobContext {
  id: string;
  type: string;
  queue: string;
  /** The job's input. */
  payload: JsonObject;
  /** This attempt's number, from 1. */
  attempt: number;
  maxAttempts: number;
  /**
   * Aborts when the attempt must stop: its deadline passed, it was cancelled, its lease was lost,
   * or the worker is shutting down past its grace period. `signal.reason` is a JobAbortError. On
   * shutdown the handler gets `abortWaitMs` to wind down: a result it still returns is kept.
   */
  signal: AbortSignal;
  /** Hard deadline of the attempt. */
  deadline: Date;
  /** Logger bound to the job (job_id, job_type, attempt). */
  logger: Logger;
  /**
   * The jobs this one waited for (its `dependsOn`), each with how it ended and, when it completed,
   * its result; empty for a job without parents. A parent that failed or was cancelled shows up
   * only under the RUN policy (the others never run the child).
   */
  parents: ParentResult[];
  /**
   * Reports how far the attempt got: `percent` from 0 to 100 and optional `details`, a JSON
   * object of at most 4096 bytes as JSON. Only the latest value is sent, with the next heartbeat,
   * which comes early (at most one a second) after a change; GetJob, WatchJob and WatchJobs show
   * it. Cheap to call often. A value reported just before the handler returns may not be sent.
   * @throws RangeError for a value out of range or too large (nothing is sent).
   */
  progress(percent: number, details?: JsonObject): void;
}

/** One parent of a flow's child as its handler sees it. */
export interface ParentResult {
  id: string;
  type: string;
  queue: string;
  /** "completed", "failed" or "cancelled". */
  status: "completed" | "failed" | "cancelled";
  /** The parent's result (JSON); undefined unless it completed with one. */
  result: JsonValue | undefined;
}

/**
 * Runs one attempt of a job. The resolved value (JSON) is the job's result; a thrown error fails
 * the attempt (throw PermanentError to fail the job without retries).
 */
export type Handler = (ctx: JobContext) => Promise<JsonValue | void>;

/** Options of createWorker. */
export interface WorkerOptions extends ClientCredentials {
  /** Base URL of the scheduler, e.g. "http://127.0.0.1:50051". */
  scheduler: string;
  /** Queues to lease from, in order of preference. */
  queues: string[];
  /** Handlers by job type; their names are the job types this worker announces. */
  handlers: Record<string, Handler>;
  /** Jobs run at once (default 10). */
  concurrency?: number;
  /** Stable worker id (default hostname-pid-random). */
  workerId?: string;
  /** Pino logger (default: pino at info to stdout). */
  logger?: Logger;
  /**
   * Longest wait of one LeaseJobs long poll, in ms (default 10 000, at most 60 000). Used only
   * with a scheduler that does not serve the DispatchJobs stream, when the worker long-polls.
   */
  leaseWaitMs?: number;
  /** How long stop() lets running jobs finish before aborting them, in ms (default 25 000). */
  shutdownGraceMs?: number;
  /**
   * How long stop() waits, after aborting the jobs still running past the grace period, for each
   * handler to settle, in ms (default 5 000, 0 to 60 000). A handler that returns a result by
   * then completes its job; the others are handed back with the attempt counted.
   */
  abortWaitMs?: number;
  /**
   * Stop on SIGTERM and SIGINT (default false). The listeners replace Node's default exit, so the
   * process then ends once nothing else keeps it alive.
   */
  handleSignals?: boolean;
  /** Reports wait at most this long, in ms, to be sent together (default 5). */
  reportBatchMs?: number;
  /**
   * Told of every attempt as it starts and ends, e.g. to feed a metrics library (the SDK depends
   * on none). Its functions run synchronously in the worker's path: keep them cheap. An error
   * they throw is logged and otherwise ignored.
   */
  observer?: WorkerObserver;
}

/** How an attempt ended on this worker: reported completed or failed, abandoned on a lost lease, or handed back on shutdown. */
export type AttemptOutcome = "completed" | "failed" | "lost" | "released";

/** An attempt as an observer hears of it. */
export interface AttemptInfo {
  type: string;
  queue: string;
}

/** Hooks a worker calls as it runs jobs (see {@link WorkerOptions.observer}); each is optional. */
export interface WorkerObserver {
  /** A leased job's handler started: a slot is now busy. */
  attemptStarted?(attempt: AttemptInfo): void;
  /** An attempt ended and freed its slot, `seconds` after its handler started. */
  attemptEnded?(attempt: AttemptInfo & { outcome: AttemptOutcome; seconds: number }): void;
}

/** Counters since start. */
export interface WorkerStats {
  /** Jobs it runs at once at most (its concurrency). */
  slots: number;
  /** Handlers running now. */
  inFlight: number;
  /** Jobs leased. */
  leased: number;
  /** Attempts that succeeded. */
  completed: number;
  /** Attempts that failed (errors, timeouts, cancellations). */
  failed: number;
  /** Attempts stopped because the lease was lost (not reported). */
  lost: number;
  /** Jobs stopped unfinished on shutdown and handed back (their attempts count). */
  released: number;
}

/** A running worker. */
export interface Worker {
  /** The worker id (the scheduler's choice once registered, if it picked another). */
  readonly id: string;
  /** Registers and starts leasing; resolves once running. @throws ConnectError when registration is refused. */
  start(): Promise<void>;
  /** Drains and deregisters (see createWorker). Idempotent. */
  stop(): Promise<void>;
  stats(): WorkerStats;
}
