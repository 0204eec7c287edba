import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, durationFromMs } from "@bufbuild/protobuf/wkt";
import { createClient, type Client } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { WorkerService, type LeasedJob } from "@taskflow/proto";

/**
 * A worker driven by hand over the raw WorkerService protocol, so that client tests can move
 * jobs to any status without depending on the worker SDK.
 */
export class HandWorker {
  private readonly session: Http2SessionManager;
  private readonly rpc: Client<typeof WorkerService>;

  constructor(
    schedulerUrl: string,
    readonly id: string,
    readonly queue: string,
  ) {
    this.session = new Http2SessionManager(schedulerUrl);
    this.rpc = createClient(WorkerService, createGrpcTransport({ baseUrl: schedulerUrl, sessionManager: this.session }));
  }

  async register(jobTypes: string[]): Promise<void> {
    await this.rpc.registerWorker({ workerId: this.id, queues: [this.queue], jobTypes, concurrency: 1, hostname: "test" });
  }

  /** Leases the next job of the queue, waiting up to 5 s for one. */
  async leaseOne(): Promise<LeasedJob> {
    const res = await this.rpc.leaseJobs({ workerId: this.id, queues: [this.queue], maxJobs: 1, wait: durationFromMs(5000) });
    const [leased] = res.jobs;
    if (leased === undefined) throw new Error(`no job leased from ${this.queue}`);
    return leased;
  }

  async complete(leased: LeasedJob, result: JsonValue): Promise<void> {
    await this.report(leased, { case: "completed", value: { result: fromJson(ValueSchema, result) } });
  }

  async fail(leased: LeasedJob, error: string): Promise<void> {
    await this.report(leased, { case: "failed", value: { error, permanent: true } });
  }

  close(): void {
    this.session.abort();
  }

  private async report(
    leased: LeasedJob,
    outcome:
      | { case: "completed"; value: { result: ReturnType<typeof fromJson<typeof ValueSchema>> } }
      | { case: "failed"; value: { error: string; permanent: boolean } },
  ): Promise<void> {
    const job = leased.job!;
    const lease = { jobId: job.id, queue: job.queue, leaseToken: leased.leaseToken };
    await this.rpc.reportJobs({ workerId: this.id, reports: [{ lease, outcome }] });
  }
}
