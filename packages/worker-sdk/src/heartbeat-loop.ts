import { LeaseStatus, type LeaseState } from "@taskflow/proto";
import type { Logger } from "pino";
import { sleep } from "./backoff.js";
import type { LeaseRef } from "./start-job.js";
import { rpcTimeoutMs, type WorkerRpc } from "./worker-rpc.js";

/** What the heartbeat loop needs from its worker. */
export interface HeartbeatDeps {
  rpc: WorkerRpc;
  workerId(): string;
  /** Time between two heartbeats, in ms. */
  intervalMs: number;
  /** Every lease the worker holds: running attempts and outcomes not yet reported. */
  leases(): LeaseRef[];
  /** The lease expired or another attempt owns the job: stop the attempt and stop beating the lease. */
  onLost(lease: LeaseRef): void;
  /** The job was cancelled: abort its handler and report a failure. */
  onCancelRequested(lease: LeaseRef): void;
  logger: Logger;
}

/**
 * Sends one Heartbeat per interval carrying every lease the worker holds, even none (then it
 * only says the worker is alive), and passes lost leases and cancellations on.
 */
export class HeartbeatLoop {
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: HeartbeatDeps) {}

  /** Sends one heartbeat; a failure is logged, and the next beat tries again. */
  async runOnce(): Promise<void> {
    const { rpc, logger } = this.deps;
    const leases = this.deps.leases();
    let states;
    try {
      const res = await rpc.client.heartbeat(
        { workerId: this.deps.workerId(), leases },
        { timeoutMs: Math.min(rpcTimeoutMs, Math.max(this.deps.intervalMs, 1000)) },
      );
      states = res.leases;
    } catch (err) {
      logger.warn({ err, leases: leases.length }, "heartbeat failed");
      return;
    }
    states.forEach((state, i) => {
      if (state.status !== LeaseStatus.LOST && state.status !== LeaseStatus.CANCEL_REQUESTED) return;
      for (const lease of leasesOf(state, i, leases)) {
        if (state.status === LeaseStatus.LOST) this.deps.onLost(lease);
        else this.deps.onCancelRequested(lease);
      }
    });
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops beating; resolves once a beat in flight has ended. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    const interval = this.deps.intervalMs;
    // Beats keep their cadence however long a call takes, so a slow heartbeat does not push
    // the next one past the lease (the wait is measured from the previous beat's start).
    let next = performance.now() + interval;
    while (!signal.aborted) {
      await sleep(Math.max(0, next - performance.now()), signal);
      next = Math.max(next + interval, performance.now());
      if (!signal.aborted) await this.runOnce();
    }
  }
}

/**
 * The leases a state answers. States come in request order; should they not, every lease of the
 * job is meant, which errs towards stopping an attempt rather than keeping a lost one.
 */
function leasesOf(state: LeaseState, index: number, leases: LeaseRef[]): LeaseRef[] {
  const same = leases[index];
  if (same !== undefined && same.jobId === state.jobId) return [same];
  return leases.filter((l) => l.jobId === state.jobId);
}
