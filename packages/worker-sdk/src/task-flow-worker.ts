import { fromJson } from "@bufbuild/protobuf";
import { ValueSchema, durationMs } from "@bufbuild/protobuf/wkt";
import { hostname } from "node:os";
import type { LeasedJob } from "@taskflow/proto";
import { HeartbeatLoop } from "./heartbeat-loop.js";
import { JobTable } from "./job-table.js";
import { DispatchLoop } from "./dispatch-loop.js";
import { registerWorker } from "./register-worker.js";
import { ReportBatcher } from "./report-batcher.js";
import type { WorkerSettings } from "./resolve-options.js";
import { startJob, type ActiveJob, type JobOutcome, type LeaseRef } from "./start-job.js";
import type { Worker, WorkerStats } from "./types.js";
import { createWorkerRpc, rpcTimeoutMs } from "./worker-rpc.js";

const defaultLeaseMs = 30_000;
type Counters = Omit<WorkerStats, "inFlight" | "slots">;

/** The Worker behind createWorker: dispatch loop, heartbeat loop and report batcher around a job table. */
export class TaskFlowWorker implements Worker {
  private workerId: string;
  private leaseMs = defaultLeaseMs;
  private readonly rpc;
  private readonly table;
  private readonly batcher;
  private readonly logger;
  private readonly stopping = new AbortController();
  private readonly counters: Counters = { leased: 0, completed: 0, failed: 0, lost: 0, released: 0 };
  private starting: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  private loops: { lease: DispatchLoop; heartbeat: HeartbeatLoop } | undefined;
  private readonly onSignal = (): void => void this.stop();

  constructor(private readonly s: WorkerSettings) {
    this.workerId = s.workerId;
    this.logger = s.logger.child({ component: "worker" });
    this.rpc = createWorkerRpc(s.scheduler, s.credentials);
    this.table = new JobTable(s.concurrency);
    this.batcher = new ReportBatcher(
      this.rpc,
      () => this.workerId,
      s.reportBatchMs,
      s.logger.child({ component: "reports" }),
      () => this.loops?.lease.reportChannel(),
    );
  }

  get id(): string {
    return this.workerId;
  }

  start(): Promise<void> {
    if (this.stopped !== undefined) return Promise.reject(new Error("worker is stopped"));
    this.starting ??= this.startOnce();
    return this.starting;
  }

  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  stats(): WorkerStats {
    return { slots: this.table.capacity, inFlight: this.table.size, ...this.counters };
  }

  private async startOnce(): Promise<void> {
    const { s } = this;
    const reg = await registerWorker(
      this.rpc,
      {
        workerId: this.workerId,
        queues: s.queues,
        jobTypes: Object.keys(s.handlers),
        concurrency: s.concurrency,
        hostname: hostname(),
      },
      this.stopping.signal,
      this.logger,
    );
    this.workerId = reg.workerId || this.workerId;
    this.leaseMs = reg.leaseDuration ? durationMs(reg.leaseDuration) : defaultLeaseMs;
    const heartbeatMs = reg.heartbeatInterval ? durationMs(reg.heartbeatInterval) : this.leaseMs / 3;
    this.loops = { lease: this.createLeaseLoop(), heartbeat: this.createHeartbeatLoop(heartbeatMs) };
    this.loops.heartbeat.start();
    this.loops.lease.start();
    if (s.handleSignals) for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, this.onSignal);
    this.logger.info(
      { worker_id: this.workerId, queues: s.queues, job_types: Object.keys(s.handlers), concurrency: s.concurrency },
      "worker started",
    );
  }

  private createLeaseLoop(): DispatchLoop {
    return new DispatchLoop({
      rpc: this.rpc,
      workerId: () => this.workerId,
      queues: this.s.queues,
      jobTypes: Object.keys(this.s.handlers),
      leaseWaitMs: this.s.leaseWaitMs,
      table: this.table,
      dispatch: (leased) => this.dispatch(leased),
      logger: this.s.logger.child({ component: "dispatch" }),
    });
  }

  private createHeartbeatLoop(intervalMs: number): HeartbeatLoop {
    return new HeartbeatLoop({
      rpc: this.rpc,
      workerId: () => this.workerId,
      intervalMs,
      leases: () => [...this.table.leases(), ...this.batcher.leases()],
      progressOf: (lease) => this.table.get(lease.leaseToken)?.progress.pending(),
      onLost: (lease) => this.onLost(lease),
      onCancelRequested: (lease) => void this.table.get(lease.leaseToken)?.abort("cancel"),
      logger: this.s.logger.child({ component: "heartbeat" }),
    });
  }

  /**
   * Stops a running attempt whose lease is lost, and stops beating the lease. A finished job's
   * report is still sent: the scheduler keeps a late outcome unless another attempt began.
   */
  private onLost(lease: LeaseRef): void {
    const active = this.table.get(lease.leaseToken);
    if (active === undefined) return this.batcher.stopBeating(lease.leaseToken);
    active.abort("lost");
    // An outcome decided just before is queued by dispatch's callback, which runs before this one.
    void active.outcome.then(() => this.batcher.stopBeating(lease.leaseToken));
  }

  private dispatch(leased: LeasedJob): void {
    if (leased.job === undefined) {
      this.logger.error("leased job without a job");
      return;
    }
    this.counters.leased += 1;
    const active = startJob(leased, this.s.handlers, this.s.logger.child({ component: "job" }), () => this.loops?.heartbeat.progressChanged());
    this.table.add(active);
    const attempt = { type: active.job.type, queue: active.job.queue };
    const startedMs = performance.now();
    this.observe(() => this.s.observer.attemptStarted?.(attempt));
    void active.outcome.then((outcome) => {
      // Queue the report before freeing the slot, so that heartbeats never miss the lease.
      this.record(active, outcome);
      this.table.remove(active.lease.leaseToken);
      const seconds = (performance.now() - startedMs) / 1000;
      this.observe(() => this.s.observer.attemptEnded?.({ ...attempt, outcome: outcome.kind, seconds }));
    });
  }

  /** Calls an observer hook; its failure is the observer's bug and must not stop a job. */
  private observe(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.logger.warn({ err }, "worker observer failed");
    }
  }

  private record(active: ActiveJob, outcome: JobOutcome): void {
    const fields = { job_id: active.job.id, job_type: active.job.type, attempt: active.job.attempts };
    switch (outcome.kind) {
      case "completed":
        this.counters.completed += 1;
        this.logger.debug(fields, "job completed");
        this.batcher.enqueue({
          lease: active.lease,
          outcome: { case: "completed", value: { result: fromJson(ValueSchema, outcome.result) } },
        });
        return;
      case "failed":
        this.counters.failed += 1;
        this.logger.info({ ...fields, error: outcome.error, permanent: outcome.permanent }, "job failed");
        this.batcher.enqueue({
          lease: active.lease,
          outcome: { case: "failed", value: { error: outcome.error, permanent: outcome.permanent } },
        });
        return;
      case "lost":
        this.counters.lost += 1;
        this.logger.warn(fields, "lease lost, attempt abandoned");
        return;
      case "released":
        this.counters.released += 1;
        return;
    }
  }

  /**
   * Stops leasing, drains within the grace period, stops the rest (keeping results they still
   * return, handing the others back), reports, deregisters.
   */
  private async shutdown(): Promise<void> {
    this.stopping.abort();
    await this.starting?.catch(() => undefined);
    for (const sig of ["SIGTERM", "SIGINT"] as const) process.off(sig, this.onSignal);
    const loops = this.loops;
    if (loops !== undefined) {
      await loops.lease.stop();
      this.logger.info({ in_flight: this.table.size, grace_ms: this.s.shutdownGraceMs }, "worker draining");
      await this.drain(this.s.shutdownGraceMs);
      await this.stopUnfinished();
      // Shutdown must end: reports still unanswered after a lease's length are given up, and
      // their jobs run again once their leases expire.
      await this.batcher.flush(this.leaseMs);
      await loops.heartbeat.stop();
      await this.deregister();
    }
    this.rpc.close();
    const { leased, completed, failed, lost, released } = this.counters;
    this.logger.info({ worker_id: this.workerId, leased, completed, failed, lost, released }, "worker stopped");
  }

  /** Waits up to `graceMs` for running jobs to end. */
  private async drain(graceMs: number): Promise<void> {
    const grace = new AbortController();
    // A referenced timer: the process must not exit halfway through the grace period.
    const timer = setTimeout(() => grace.abort(), graceMs);
    await this.table.whenEmpty(grace.signal);
    clearTimeout(timer);
  }

  /**
   * Aborts the attempts still running and waits up to `abortWaitMs` for their handlers to
   * settle: a result is reported (the work is done), the others are handed back with the
   * attempt counted, so that a job stopped on every rollout still runs out of attempts.
   */
  private async stopUnfinished(): Promise<void> {
    const stopping = this.table.all().filter((j) => j.abort("shutdown"));
    if (stopping.length === 0) return;
    this.logger.info({ jobs: stopping.length, wait_ms: this.s.abortWaitMs }, "stopping unfinished jobs");
    await this.drain(this.s.abortWaitMs);
    for (const j of stopping) j.abandon();
    // dispatch's callbacks, registered first, have recorded each outcome by the time this resumes.
    const outcomes = await Promise.all(stopping.map((j) => j.outcome));
    const leases = stopping.filter((_, i) => outcomes[i]?.kind === "released").map((j) => j.lease);
    if (leases.length > 0) await this.release(leases);
  }

  private async release(leases: LeaseRef[]): Promise<void> {
    try {
      const res = await this.rpc.client.releaseJobs(
        { workerId: this.workerId, leases, attemptsRan: true },
        { timeoutMs: rpcTimeoutMs },
      );
      this.logger.info({ jobs: leases.length, released: res.released }, "unfinished jobs released");
    } catch (err) {
      // The leases then expire and the jobs run again elsewhere, only later.
      this.logger.warn({ err, jobs: leases.length }, "release failed");
    }
  }

  private async deregister(): Promise<void> {
    try {
      await this.rpc.client.deregisterWorker({ workerId: this.workerId }, { timeoutMs: rpcTimeoutMs });
    } catch (err) {
      this.logger.warn({ err }, "deregister failed");
    }
  }
}
