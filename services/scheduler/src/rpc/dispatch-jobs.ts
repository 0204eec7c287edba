import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { DispatchJobsRequest, DispatchJobsResponseSchema, WorkerService } from "@taskflow/proto";
import { wakeOrTimeout } from "@taskflow/service-kit";
import type { Deps } from "../deps.js";
import type { LeaseWaiter } from "../redis/lease-waiters.js";
import { invalidArgument } from "../errors.js";
import { checkJobTypes, checkQueues, checkWorkerId } from "../validate.js";
import { workerActor } from "../worker-actor.js";
import { attempt, handBack, MAX_LEASE_JOBS, toLeasedJob, type Ask } from "./lease-jobs.js";
import { recordReports } from "./report-jobs.js";

/**
 * Longest wait for a wake-up before a stream with credits looks at its queues again, in ms: a
 * safety net for a wake-up lost between replicas, as a long poll's end is.
 */
export const DISPATCH_RECHECK_MS = 10_000;

type Response = MessageInitShape<typeof DispatchJobsResponseSchema>;

/** What the worker's side of one stream has said so far. */
class StreamState {
  /** Jobs the worker can take that were not sent yet. */
  credits = 0;
  /** The worker half-closed its side: send nothing more, end the stream. */
  ended = false;
  /** Why reading the worker's side failed (a bad message, a broken stream). */
  failure: unknown;
  /** Counts what was heard, so a wait that starts after news returns at once. */
  version = 0;
  /** Answers to the worker's reports, ready to send, in the order the reports came. */
  readonly answers: Response[] = [];
  /** The worker's reports being recorded, one message after another. */
  reporting: Promise<void> = Promise.resolve();
  private listener: (() => void) | undefined;

  heard(): void {
    this.version += 1;
    this.listener?.();
  }

  /**
   * Records the reports of message `reportBatch` after those of earlier messages and queues the
   * answer: a result per report, or why they were refused, which ends no stream (a worker sends
   * the same reports again or alone, as after a refused ReportJobs call).
   */
  report(reportBatch: bigint, record: () => Promise<Response["reportResults"]>): void {
    this.reporting = this.reporting.then(async () => {
      try {
        this.answers.push({ reportBatch, reportResults: await record() });
      } catch (err) {
        const e = ConnectError.from(err);
        this.answers.push({ reportBatch, reportsRefused: { code: e.code, message: e.rawMessage } });
      }
      this.heard();
    });
  }

  /** The worker's side is over: it half-closed the stream or reading it failed. */
  get over(): boolean {
    return this.ended || this.failure !== undefined;
  }

  /**
   * Waits, from `seen` (a {@link version}), for news from the worker, a wake-up of `waiter` (when
   * given: the stream has credits and found nothing ready), the recheck period, or the end of
   * the call. Without credits the worker's news ends the wait. With credits only the end of
   * its side does: more credits change nothing while nothing is ready, and a lease attempt per
   * credit would cost Redis a script call per finished job on an idle queue.
   */
  async idle(seen: number, signal: AbortSignal, waiter?: LeaseWaiter): Promise<void> {
    const ends = (): boolean => waiter === undefined || this.over || this.answers.length > 0;
    if (signal.aborted || (this.version !== seen && ends())) return;
    try {
      // Without credits, news comes once per finished job: a plain timer and callback, no abort signals.
      if (waiter === undefined) return await wakeOrTimeout(DISPATCH_RECHECK_MS, signal, (wake) => (this.listener = wake));
      const news = new AbortController();
      this.listener = () => {
        if (ends()) news.abort();
      };
      await waiter.wait(DISPATCH_RECHECK_MS, AbortSignal.any([signal, news.signal]));
    } finally {
      this.listener = undefined;
    }
  }
}

/**
 * DispatchJobs: a stream of leased jobs for one worker. Its first message names the worker, its
 * queues and job types (checked as LeaseJobs checks them); every message may grant credits.
 * While it holds credits the stream leases what is ready (the lease script, best queue first,
 * within the byte budget of an answer) and sends it as one batch; with none ready it sleeps until
 * jobs it can take are announced, as a long poll does. A job sent is the worker's, as any leased
 * job: should the stream break, it stays leased until its lease expires, since the worker may be
 * running it (a handler that kills its process still spends its attempts). Jobs leased for a
 * worker that went away before they were sent are handed back, the attempt not counted. The
 * stream opens with a message saying it takes reports: outcomes the worker sends on it are
 * recorded as ReportJobs records them, message after message, each answered on the stream. A
 * stream the worker half-closes ends after the batch in hand and the answers to its reports.
 */
export const dispatchJobs = (d: Deps): ServiceImpl<typeof WorkerService>["dispatchJobs"] =>
  async function* (requests, ctx: HandlerContext): AsyncGenerator<Response> {
    const reader = requests[Symbol.asyncIterator]();
    const first = await reader.next();
    if (first.done === true) return;
    const ask = { ...parseOpen(first.value), actor: workerActor(ctx, first.value.workerId) };
    const state = new StreamState();
    const waiter = d.waiters.register({ queues: ask.queues, types: ask.types, want: 0 });
    const hear = (req: DispatchJobsRequest): void => {
      if (!Number.isInteger(req.credits) || req.credits < 0 || req.credits > MAX_LEASE_JOBS) {
        throw new ConnectError(`credits: must be from 0 to ${MAX_LEASE_JOBS}`, Code.InvalidArgument);
      }
      checkReports(req);
      state.credits = Math.min(MAX_LEASE_JOBS, state.credits + req.credits);
      // Credits granted while the stream waits for ready jobs count in the wake-ups it takes.
      waiter.setWant(state.credits);
      if (req.reports.length > 0) state.report(req.reportBatch, () => recordReports(d, ask.workerId, ask.actor, req.reports));
      state.heard();
    };
    let batch = 0n;
    try {
      hear(first.value);
      yield { takesReports: true };
      // The worker's messages are read beside the loop below; a bad one or a broken stream ends it.
      void (async () => {
        try {
          for (let r = await reader.next(); r.done !== true; r = await reader.next()) hear(r.value);
          state.ended = true;
        } catch (err) {
          state.failure = err;
        }
        state.heard();
      })();
      for (;;) {
        const seen = state.version;
        if (state.failure !== undefined) throw ConnectError.from(state.failure);
        yield* takeAll(state.answers);
        if (state.ended || ctx.signal.aborted || d.waiters.closed) break;
        waiter.setWant(state.credits);
        if (state.credits === 0) {
          await state.idle(seen, ctx.signal);
          continue;
        }
        const leased = await attempt(d, { ...ask, max: state.credits }, waiter);
        if (leased.length === 0) {
          await state.idle(seen, ctx.signal, waiter);
          continue;
        }
        if (ctx.signal.aborted) {
          // The worker went away during the lease: these never left, so the attempt must not count.
          await handBack(d, ask.workerId, leased);
          break;
        }
        batch += 1n;
        state.credits = Math.max(0, state.credits - leased.length);
        yield { batch, jobs: leased.map((r) => toLeasedJob(r, ask.workerId)) };
      }
      // Reports heard before the end are recorded and answered before the stream ends.
      await state.reporting;
      if (!ctx.signal.aborted) yield* takeAll(state.answers);
    } finally {
      waiter.dispose();
    }
  };

/** Empties `queue`, in order. */
function* takeAll<T>(queue: T[]): Generator<T> {
  while (queue.length > 0) yield queue.shift()!;
}

/** @throws invalid_argument when reports come without their message's number. */
function checkReports(req: DispatchJobsRequest): void {
  if (req.reports.length > 0 && req.reportBatch <= 0n) throw invalidArgument("report_batch", "must be positive with reports");
}

function parseOpen(req: DispatchJobsRequest): Omit<Ask, "max" | "actor"> {
  checkWorkerId(req.workerId);
  checkQueues(req.queues);
  checkJobTypes(req.jobTypes);
  return { workerId: req.workerId, queues: [...new Set(req.queues)], types: [...new Set(req.jobTypes)], requestId: "" };
}
