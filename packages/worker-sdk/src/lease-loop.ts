import { randomBytes } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { LeaseJobsRequestSchema, LeasedJob } from "@taskflow/proto";
import type { Logger } from "pino";
import { Backoff } from "./backoff.js";
import type { JobTable } from "./job-table.js";
import { RepeatUntilStopped } from "./repeat-until-stopped.js";
import { isRefusal, rpcTimeoutMs, type WorkerRpc } from "./worker-rpc.js";

type LeaseAsk = MessageInitShape<typeof LeaseJobsRequestSchema>;

/** What the lease loop needs from its worker. */
export interface LeaseLoopDeps {
  rpc: WorkerRpc;
  workerId(): string;
  queues: string[];
  /** Job types the worker has handlers for; the scheduler leases only these. */
  jobTypes: string[];
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
 *
 * Each ask carries a request id. A call that ends without an answer may still have leased jobs
 * (the answer was lost on the way), so its retry repeats the same ask, id and size included,
 * and the scheduler answers with the jobs it leased for it rather than leaving them to expire.
 * An answered or refused ask is done; the next one gets a new id.
 */
export class LeaseLoop {
  private readonly backoff = new Backoff(200, 5_000);
  private readonly loop = new RepeatUntilStopped((signal) => this.round(signal));
  /** The ask sent and not yet answered, to repeat on retry. */
  private unanswered: LeaseAsk | undefined;

  constructor(private readonly deps: LeaseLoopDeps) {}

  /**
   * Waits for a free slot, long-polls once and dispatches what it got. Returns the number of
   * jobs leased; throws the RPC's ConnectError unless the loop is stopping.
   */
  async runOnce(signal = this.loop.signal): Promise<number> {
    const { table, rpc } = this.deps;
    await table.whenSlotFree(signal);
    if (signal.aborted) return 0;
    // Slots only free up while an ask waits for its retry, so a repeated ask never asks for more than fit.
    const ask = (this.unanswered ??= this.newAsk(table.freeSlots()));
    let jobs: LeasedJob[];
    try {
      const res = await rpc.client.leaseJobs(ask, { signal, timeoutMs: this.deps.leaseWaitMs + rpcTimeoutMs });
      jobs = res.jobs;
    } catch (err) {
      if (isRefusal(err)) this.unanswered = undefined;
      if (signal.aborted) return 0;
      throw err;
    }
    this.unanswered = undefined;
    // Jobs that arrive as stop() begins still run: the drain lets them finish or hands them back.
    for (const leased of jobs) this.deps.dispatch(leased);
    return jobs.length;
  }

  private newAsk(maxJobs: number): LeaseAsk {
    return {
      workerId: this.deps.workerId(),
      queues: this.deps.queues,
      jobTypes: this.deps.jobTypes,
      maxJobs,
      wait: durationFromMs(this.deps.leaseWaitMs),
      // 16 url-safe characters: unique enough that two asks of one worker never share an id.
      requestId: randomBytes(12).toString("base64url"),
    };
  }

  start(): void {
    this.loop.start();
  }

  /** Stops leasing at once, aborting the long poll in flight. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One long poll; after a failure, waits out a backoff before the next. */
  private async round(signal: AbortSignal): Promise<number> {
    try {
      const leased = await this.runOnce(signal);
      this.backoff.reset();
      this.deps.logger.debug({ jobs: leased }, "lease poll ended");
      return 0;
    } catch (err) {
      const waitMs = this.backoff.next();
      this.deps.logger.warn({ err, retry_in_ms: Math.round(waitMs) }, "lease failed, retrying");
      return waitMs;
    }
  }
}
