import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { DispatchJobsRequestSchema, DispatchJobsResponse, JobReportSchema, ReportResult } from "@taskflow/proto";
import { Backoff } from "./backoff.js";
import { LeaseLoop, type LeaseLoopDeps } from "./lease-loop.js";
import { RepeatUntilStopped } from "./repeat-until-stopped.js";
import { rpcTimeoutMs } from "./worker-rpc.js";

type DispatchAsk = MessageInitShape<typeof DispatchJobsRequestSchema>;
type Report = MessageInitShape<typeof JobReportSchema>;

/**
 * Sends reports and resolves to one result per report, in their order; rejects with the
 * ConnectError a ReportJobs call with them would end with.
 */
export type ReportChannel = (reports: Report[]) => Promise<ReportResult[]>;

interface Unanswered {
  resolve(results: ReportResult[]): void;
  reject(err: ConnectError): void;
  timer: NodeJS.Timeout;
}

/**
 * The messages a worker sends on one DispatchJobs stream: the opening one, then credits as slots
 * free up and reports as they are handed over. Credits granted while a message waits to be sent
 * go together in the next one, with the oldest reports waiting.
 */
class CreditPipe implements AsyncIterable<DispatchAsk> {
  private pending = 0;
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly reports: DispatchAsk[] = [];
  private reportBatches = 0n;
  private readonly unanswered = new Map<bigint, Unanswered>();

  constructor(private readonly opening: DispatchAsk) {}

  get open(): boolean {
    return !this.closed;
  }

  grant(credits: number): void {
    this.pending += credits;
    this.notify();
  }

  /** Sends `reports` in a message of their own; the answer, or a timeout, settles the promise. */
  report(reports: Report[]): Promise<ReportResult[]> {
    if (this.closed) return Promise.reject(new ConnectError("dispatch stream closed", Code.Unavailable));
    const reportBatch = (this.reportBatches += 1n);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.settle(reportBatch, new ConnectError("no answer to reports on the dispatch stream", Code.DeadlineExceeded)),
        rpcTimeoutMs,
      );
      this.unanswered.set(reportBatch, { resolve, reject, timer });
      this.reports.push({ reports, reportBatch });
      this.notify();
    });
  }

  /** Settles the reports a response answers, if it answers any. */
  answer(res: DispatchJobsResponse): void {
    if (res.reportBatch === 0n) return;
    const refused = res.reportsRefused;
    this.settle(res.reportBatch, refused === undefined ? res.reportResults : new ConnectError(refused.message, refused.code));
  }

  /** Half-closes the stream: the scheduler sends the batch it holds and its answers, and ends it. */
  close(): void {
    this.closed = true;
    this.notify();
  }

  /** The stream is over: reports not answered fail with `err`, so that they are sent again. */
  fail(err: ConnectError): void {
    this.close();
    for (const reportBatch of [...this.unanswered.keys()]) this.settle(reportBatch, err);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<DispatchAsk> {
    yield this.opening;
    for (;;) {
      while (this.pending === 0 && this.reports.length === 0 && !this.closed) {
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
      if (this.closed) return;
      const credits = this.pending;
      this.pending = 0;
      yield { credits, ...this.reports.shift() };
    }
  }

  private settle(reportBatch: bigint, outcome: ReportResult[] | ConnectError): void {
    const waiting = this.unanswered.get(reportBatch);
    if (waiting === undefined) return;
    this.unanswered.delete(reportBatch);
    clearTimeout(waiting.timer);
    if (outcome instanceof ConnectError) waiting.reject(outcome);
    else waiting.resolve(outcome);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/**
 * Keeps the worker's slots filled through one DispatchJobs stream: it opens the stream with a
 * credit per free slot and grants one more each time a job leaves the table, and the scheduler
 * pushes leased jobs as they become ready, so no slot waits on a request of its own. A broken
 * stream is opened again after a backoff, with the slots free then; jobs it had sent are running
 * here already, and jobs it leased and could not send are handed back by the scheduler. While a
 * stream that takes reports is open, {@link reportChannel} sends outcomes on it: a message on a
 * stream open already costs both sides less than a call of its own.
 *
 * A scheduler that does not serve DispatchJobs (`unimplemented`: an older version, a proxy that
 * does not pass streams) is served by LeaseJobs long polls instead, for the worker's lifetime.
 */
export class DispatchLoop {
  private readonly backoff = new Backoff(100, 5_000);
  private readonly loop = new RepeatUntilStopped((signal) => this.round(signal));
  private polling: LeaseLoop | undefined;
  private reporting: CreditPipe | undefined;

  constructor(private readonly deps: LeaseLoopDeps) {}

  start(): void {
    this.loop.start();
  }

  /** Sends reports on the open stream, when it takes them; undefined otherwise (ReportJobs then). */
  reportChannel(): ReportChannel | undefined {
    const pipe = this.reporting;
    return pipe?.open === true ? (reports) => pipe.report(reports) : undefined;
  }

  /**
   * Stops taking jobs: half-closes the stream and waits for its end (cut after a short timeout).
   * Jobs that arrive meanwhile still run: the worker's drain lets them finish or hands them back.
   */
  async stop(): Promise<void> {
    await this.loop.stop();
    await this.polling?.stop();
  }

  /**
   * Runs one stream until it ends. Resolves to the number of jobs it delivered; throws its
   * ConnectError unless the loop is stopping.
   */
  async runOnce(signal: AbortSignal): Promise<number> {
    const { table, rpc } = this.deps;
    const pipe = new CreditPipe({
      workerId: this.deps.workerId(),
      queues: this.deps.queues,
      jobTypes: this.deps.jobTypes,
      credits: table.freeSlots(),
    });
    const offRemove = table.onRemove(() => pipe.grant(1));
    const call = new AbortController();
    let cut: NodeJS.Timeout | undefined;
    const onStop = (): void => {
      pipe.close();
      cut = setTimeout(() => call.abort(), rpcTimeoutMs);
    };
    signal.addEventListener("abort", onStop, { once: true });
    let received = 0;
    let ended = new ConnectError("dispatch stream ended", Code.Unavailable);
    try {
      for await (const res of rpc.client.dispatchJobs(pipe, { signal: call.signal })) {
        if (res.takesReports) this.reporting = pipe;
        pipe.answer(res);
        received += res.jobs.length;
        if (res.jobs.length > 0) this.backoff.reset();
        for (const leased of res.jobs) this.deps.dispatch(leased);
      }
    } catch (err) {
      ended = ConnectError.from(err);
      if (signal.aborted) return received;
      throw err;
    } finally {
      if (this.reporting === pipe) this.reporting = undefined;
      pipe.fail(ended);
      offRemove();
      signal.removeEventListener("abort", onStop);
      clearTimeout(cut);
    }
    return received;
  }

  /** One stream; afterwards, a backoff before the next (a stream the scheduler ended is opened again too). */
  private async round(signal: AbortSignal): Promise<number | null> {
    try {
      const jobs = await this.runOnce(signal);
      this.deps.logger.debug({ jobs }, "dispatch stream ended");
    } catch (err) {
      if (signal.aborted) return null;
      if (ConnectError.from(err).code === Code.Unimplemented) {
        this.deps.logger.info("the scheduler does not serve DispatchJobs: leasing with LeaseJobs long polls");
        this.polling = new LeaseLoop(this.deps);
        this.polling.start();
        return null;
      }
      const waitMs = this.backoff.next();
      this.deps.logger.warn({ err, retry_in_ms: Math.round(waitMs) }, "dispatch stream failed, retrying");
      return waitMs;
    }
    return signal.aborted ? null : this.backoff.next();
  }
}
