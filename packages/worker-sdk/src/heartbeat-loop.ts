import { LeaseStatus, type LeaseState } from "@taskflow/proto";
import type { Logger } from "pino";
import { RepeatUntilStopped } from "./repeat-until-stopped.js";
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
  private readonly loop: RepeatUntilStopped;
  /** When the next beat is due (performance.now() time). */
  private next: number;

  constructor(private readonly deps: HeartbeatDeps) {
    this.next = performance.now() + deps.intervalMs;
    this.loop = new RepeatUntilStopped(() => this.round(), deps.intervalMs);
  }

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
    this.loop.start();
  }

  /** Stops beating; resolves once a beat in flight has ended. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /**
   * One beat. Beats keep their cadence however long a call takes, so a slow heartbeat does not
   * push the next one past the lease (the wait is measured from the previous beat's start).
   */
  private async round(): Promise<number> {
    this.next = Math.max(this.next + this.deps.intervalMs, performance.now());
    await this.runOnce();
    return Math.max(0, this.next - performance.now());
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
