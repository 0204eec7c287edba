import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { LeasedJob } from "@taskflow/proto";
import type { Logger } from "pino";
import { Backoff, sleep } from "./backoff.js";
import type { JobTable } from "./job-table.js";
import { rpcTimeoutMs, type WorkerRpc } from "./worker-rpc.js";

/** What the lease loop needs from its worker. */
export interface LeaseLoopDeps {
  rpc: WorkerRpc;
  workerId(): string;
  queues: string[];
  /** Longest wait of one long poll, in ms. */
  leaseWaitMs: number;
  table: JobTable;
  /** Starts a leased job. */
  dispatch(leased: LeasedJob): void;
  logger: Logger;
}

/**
 * Leases jobs while a slot is free: one LeaseJobs long poll at a time asking for as many jobs as
 * there are free slots, so an idle worker waits on the scheduler rather than spinning.
 */
export class LeaseLoop {
  private readonly stopping = new AbortController();
  private readonly backoff = new Backoff(200, 5_000);
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: LeaseLoopDeps) {}

  /**
   * Waits for a free slot, long-polls once and dispatches what it got. Returns the number of
   * jobs leased; throws the RPC's ConnectError unless the loop is stopping.
   */
  async runOnce(): Promise<number> {
    const { table, rpc } = this.deps;
    const signal = this.stopping.signal;
    await table.whenSlotFree(signal);
    if (signal.aborted) return 0;
    let jobs: LeasedJob[];
    try {
      const res = await rpc.client.leaseJobs(
        {
          workerId: this.deps.workerId(),
          queues: this.deps.queues,
          maxJobs: table.freeSlots(),
          wait: durationFromMs(this.deps.leaseWaitMs),
        },
        { signal, timeoutMs: this.deps.leaseWaitMs + rpcTimeoutMs },
      );
      jobs = res.jobs;
    } catch (err) {
      if (signal.aborted) return 0;
      throw err;
    }
    // Jobs that arrive as stop() begins still run: the drain lets them finish or hands them back.
    for (const leased of jobs) this.deps.dispatch(leased);
    return jobs.length;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops leasing at once, aborting the long poll in flight. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        const leased = await this.runOnce();
        this.backoff.reset();
        this.deps.logger.debug({ jobs: leased }, "lease poll ended");
      } catch (err) {
        const waitMs = this.backoff.next();
        this.deps.logger.warn({ err, retry_in_ms: Math.round(waitMs) }, "lease failed, retrying");
        await sleep(waitMs, signal);
      }
    }
  }
}
