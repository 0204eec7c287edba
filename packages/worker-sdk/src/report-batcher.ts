import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { JobReportSchema, ReportStatus, type ReportResult } from "@taskflow/proto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import { Backoff, sleep } from "./backoff.js";
import type { ReportChannel } from "./dispatch-loop.js";
import type { LeaseRef } from "./start-job.js";
import { isRefusal, rpcTimeoutMs, type WorkerRpc } from "./worker-rpc.js";

/** One outcome waiting to be reported. */
export type PendingReport = MessageInitShape<typeof JobReportSchema> & { lease: LeaseRef };

interface Entry {
  report: PendingReport;
  /** Encoded size of the report inside a ReportJobs request, in bytes. */
  bytes: number;
  /** Heartbeats carry the lease until the scheduler says it is lost. */
  beating: boolean;
}

/** Most reports in one ReportJobs call. */
export const maxReportBatch = 100;
/**
 * Most encoded bytes of reports in one ReportJobs call. The scheduler reads requests of at
 * least 4 MiB; staying under 3 MiB leaves room for the rest of the request and keeps one call
 * well inside an HTTP/2 session's memory. A larger report still goes, alone.
 */
export const maxReportBatchBytes = 3 * 1024 * 1024;
// A report's field tag and length prefix inside the request: 1 byte plus a varint of at most 5.
const reportFramingBytes = 6;

/**
 * Queues job outcomes and sends them as one batch per `batchMs`, per 100 reports or per 3 MiB
 * of reports, whichever comes first: on the dispatch stream while one takes them, otherwise as
 * a ReportJobs call.
 * A call that fails without an answer (the scheduler is down, the connection broke, the call
 * timed out) is retried, same batch, with backoff, until the scheduler answers each report:
 * reports are idempotent, and finished work must not be lost to a transport failure. Even a
 * report whose lease was lost is sent: the scheduler keeps a late outcome while no newer attempt
 * has started, and otherwise answers LEASE_LOST. Only `flush()` at shutdown gives up.
 */
export class ReportBatcher {
  private queue: Entry[] = [];
  private queuedBytes = 0;
  private sending: Entry[] = [];
  private pump: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private giveUpAt = Infinity;
  private readonly backoff = new Backoff(100, 5_000);

  constructor(
    private readonly rpc: WorkerRpc,
    private readonly workerId: () => string,
    private readonly batchMs: number,
    private readonly logger: Logger,
    private readonly channel: () => ReportChannel | undefined = () => undefined,
  ) {}

  enqueue(report: PendingReport): void {
    const entry = { report, bytes: encodedBytes(report), beating: true };
    this.queue.push(entry);
    this.queuedBytes += entry.bytes;
    this.schedule();
  }

  /**
   * Stops offering the lease under `leaseToken` to heartbeats (the scheduler said it is lost, so
   * beating it again is moot); its report stays queued until the scheduler answers it.
   */
  stopBeating(leaseToken: string): void {
    for (const e of [...this.queue, ...this.sending]) if (e.report.lease.leaseToken === leaseToken) e.beating = false;
  }

  /** Leases whose outcome is not yet recorded and still held; heartbeats keep them alive meanwhile. */
  leases(): LeaseRef[] {
    return [...this.sending, ...this.queue].filter((e) => e.beating).map((e) => e.report.lease);
  }

  /**
   * Sends everything queued now; resolves when every report is answered, or gives up after
   * `timeoutMs` (shutdown must end), logging the reports left unanswered.
   */
  async flush(timeoutMs = Infinity): Promise<void> {
    this.giveUpAt = Date.now() + timeoutMs;
    while (this.queue.length > 0 || this.pump !== undefined) {
      this.startPump();
      await this.pump;
    }
  }

  private schedule(): void {
    if (this.pump !== undefined) return;
    if (this.queue.length >= maxReportBatch || this.queuedBytes >= maxReportBatchBytes) this.startPump();
    else this.timer ??= setTimeout(() => this.startPump(), this.batchMs);
  }

  private startPump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pump !== undefined || this.queue.length === 0) return;
    this.sending = this.takeBatch();
    this.pump = this.send(this.sending).finally(() => {
      this.sending = [];
      this.pump = undefined;
      if (this.queue.length > 0) this.schedule();
    });
  }

  /** Takes the oldest reports that fit one call: at least one, however large. */
  private takeBatch(): Entry[] {
    let count = 0;
    let bytes = 0;
    for (const e of this.queue) {
      if (count === maxReportBatch || (count > 0 && bytes + e.bytes > maxReportBatchBytes)) break;
      count += 1;
      bytes += e.bytes;
    }
    this.queuedBytes -= bytes;
    return this.queue.splice(0, count);
  }

  private async send(batch: Entry[]): Promise<void> {
    for (;;) {
      try {
        const results = await this.sendOnce(batch);
        this.backoff.reset();
        this.logResults(batch, results);
        return;
      } catch (err) {
        if (isRefusal(err) || tooLargeAlone(batch, err)) return this.sendEachAlone(batch, err);
        if (Date.now() >= this.giveUpAt) return this.abandon(batch, err);
        const waitMs = this.backoff.next();
        this.logger.warn({ err, reports: batch.length, retry_in_ms: Math.round(waitMs) }, "report failed, retrying");
        await sleep(Math.min(waitMs, Math.max(0, this.giveUpAt - Date.now())));
      }
    }
  }

  /** One try: on the dispatch stream when it takes reports and a lone report is not too large for it, else a ReportJobs call. */
  private async sendOnce(batch: Entry[]): Promise<ReportResult[]> {
    const reports = batch.map((e) => e.report);
    const channel = batch.length > 1 || batch[0]!.bytes <= maxReportBatchBytes ? this.channel() : undefined;
    if (channel !== undefined) return channel(reports);
    return (await this.rpc.client.reportJobs({ workerId: this.workerId(), reports }, { timeoutMs: rpcTimeoutMs })).results;
  }

  /** A refused batch may hold one bad report; sending each alone saves the others. */
  private async sendEachAlone(batch: Entry[], err: unknown): Promise<void> {
    const [only] = batch;
    if (batch.length === 1 && only !== undefined) {
      const e = ConnectError.from(err);
      if (only.report.outcome?.case === "completed" && (e.code === Code.InvalidArgument || tooLargeAlone(batch, err))) {
        // A result the scheduler refuses (too large) would be refused again on every rerun:
        // fail the job for good, saying why.
        only.report = failedReport(only.report.lease, `result refused: ${e.rawMessage}`);
        only.bytes = encodedBytes(only.report);
        return this.send([only]);
      }
      // The lease then expires and the job runs again: at-least-once keeps holding.
      this.logger.error({ err, job_id: only.report.lease.jobId }, "report refused");
      return;
    }
    for (const e of batch) await this.send([e]);
  }

  private abandon(batch: Entry[], err: unknown): void {
    const jobIds = batch.map((e) => e.report.lease.jobId);
    this.logger.error({ err, job_ids: jobIds }, "reports abandoned");
  }

  private logResults(batch: Entry[], results: ReportResult[]): void {
    batch.forEach((e, i) => {
      const r = results[i];
      const fields = { job_id: e.report.lease.jobId, job_status: r?.jobStatus };
      if (r?.status === ReportStatus.ACCEPTED) this.logger.debug(fields, "report accepted");
      else if (r?.status === ReportStatus.DUPLICATE) this.logger.debug(fields, "report duplicate");
      else if (r?.status === ReportStatus.LEASE_LOST) this.logger.warn(fields, "report refused, lease lost");
      else this.logger.warn({ ...fields, status: r?.status }, "report answered without status");
    });
  }
}

/**
 * A lone report past the batch cap that the scheduler will not take for its size: it exceeds
 * the request size the scheduler reads, which no retry changes (the code alone could also mean
 * an overloaded scheduler, but then so large a report is the likelier cause).
 */
function tooLargeAlone(batch: Entry[], err: unknown): boolean {
  const [only] = batch;
  return batch.length === 1 && only !== undefined && only.bytes > maxReportBatchBytes && ConnectError.from(err).code === Code.ResourceExhausted;
}

/** Size of a report in a ReportJobs request, measured by encoding it once. */
function encodedBytes(report: PendingReport): number {
  return toBinary(JobReportSchema, create(JobReportSchema, report)).byteLength + reportFramingBytes;
}

const failedReport = (lease: LeaseRef, error: string): PendingReport => ({
  lease,
  outcome: { case: "failed", value: { error, permanent: true } },
});
