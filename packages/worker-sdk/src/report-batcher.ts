import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { JobReportSchema, ReportStatus, type ReportResult } from "@taskflow/proto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import { Backoff, sleep } from "./backoff.js";
import type { LeaseRef } from "./start-job.js";
import { isTransient, rpcTimeoutMs, type WorkerRpc } from "./worker-rpc.js";

/** One outcome waiting to be reported. */
export type PendingReport = MessageInitShape<typeof JobReportSchema> & { lease: LeaseRef };

interface Entry {
  report: PendingReport;
  /** Encoded size of the report inside a ReportJobs request, in bytes. */
  bytes: number;
  dropped: boolean;
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
 * Queues job outcomes and sends them as one ReportJobs call per `batchMs`, per 100 reports or
 * per 3 MiB of reports, whichever comes first.
 * A failed call is retried, same batch, with backoff: reports are idempotent, and an outcome
 * must not be lost while its lease holds. `drop()` forgets a report whose lease was lost.
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
  ) {}

  enqueue(report: PendingReport): void {
    const entry = { report, bytes: encodedBytes(report), dropped: false };
    this.queue.push(entry);
    this.queuedBytes += entry.bytes;
    this.schedule();
  }

  /** Forgets the report under `leaseToken`, queued or being retried: its lease is gone. */
  drop(leaseToken: string): void {
    for (const e of [...this.queue, ...this.sending]) if (e.report.lease.leaseToken === leaseToken) e.dropped = true;
    this.queue = this.queue.filter((e) => !e.dropped);
    this.queuedBytes = this.queue.reduce((sum, e) => sum + e.bytes, 0);
  }

  /** Leases whose outcome is not yet recorded; heartbeats keep them alive meanwhile. */
  leases(): LeaseRef[] {
    return [...this.sending, ...this.queue].filter((e) => !e.dropped).map((e) => e.report.lease);
  }

  /** Sends everything queued now; resolves when nothing is left, or gives up after `timeoutMs`. */
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
      const live = batch.filter((e) => !e.dropped);
      if (live.length === 0) return;
      try {
        const res = await this.rpc.client.reportJobs(
          { workerId: this.workerId(), reports: live.map((e) => e.report) },
          { timeoutMs: rpcTimeoutMs },
        );
        this.backoff.reset();
        this.logResults(live, res.results);
        return;
      } catch (err) {
        if (!isTransient(err)) return this.sendEachAlone(live, err);
        if (Date.now() >= this.giveUpAt) return this.abandon(live, err);
        const waitMs = this.backoff.next();
        this.logger.warn({ err, reports: live.length, retry_in_ms: Math.round(waitMs) }, "report failed, retrying");
        await sleep(Math.min(waitMs, Math.max(0, this.giveUpAt - Date.now())));
      }
    }
  }

  /** A refused batch may hold one bad report; sending each alone saves the others. */
  private async sendEachAlone(batch: Entry[], err: unknown): Promise<void> {
    const [only] = batch;
    if (batch.length === 1 && only !== undefined) {
      const e = ConnectError.from(err);
      if (only.report.outcome?.case === "completed" && e.code === Code.InvalidArgument) {
        // A result the scheduler refuses (too large) would be refused again on every rerun:
        // fail the job for good, saying why.
        only.report = failedReport(only.report.lease, `result refused: ${e.rawMessage}`);
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

/** Size of a report in a ReportJobs request, measured by encoding it once. */
function encodedBytes(report: PendingReport): number {
  return toBinary(JobReportSchema, create(JobReportSchema, report)).byteLength + reportFramingBytes;
}

const failedReport = (lease: LeaseRef, error: string): PendingReport => ({
  lease,
  outcome: { case: "failed", value: { error, permanent: true } },
});
