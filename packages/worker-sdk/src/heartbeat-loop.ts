import { LeaseStatus, type LeaseState } from "@taskflow/proto";
import type { Logger } from "pino";
import { RepeatUntilStopped } from "./repeat-until-stopped.js";
import type { PendingProgress } from "./progress-slot.js";
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
  /** The progress of a lease's attempt that no heartbeat carried yet. */
  progressOf(lease: LeaseRef): PendingProgress | undefined;
  /** The lease expired or another attempt owns the job: stop the attempt and stop beating the lease. */
  onLost(lease: LeaseRef): void;
  /** The job was cancelled: abort its handler and report a failure. */
  onCancelRequested(lease: LeaseRef): void;
  logger: Logger;
}

/** Least time between two beats sent early for progress, in ms. */
export const MIN_PROGRESS_BEAT_MS = 1_000;

/**
 * Sends one Heartbeat per interval carrying every lease the worker holds, even none (then it
 * only says the worker is alive), and passes lost leases and cancellations on. A lease whose
 * attempt reported progress since the last answered beat carries the latest value.
 */
export class HeartbeatLoop {
  private readonly loop: RepeatUntilStopped;
  /** When the next regular beat is due (performance.now() time). */
  private next: number;
  /** When the latest beat started, and the timer of an early beat waiting for its turn. */
  private lastBeat = -Infinity;
  private early: NodeJS.Timeout | undefined;

  constructor(private readonly deps: HeartbeatDeps) {
    this.next = performance.now() + deps.intervalMs;
    this.loop = new RepeatUntilStopped(() => this.round(), deps.intervalMs);
  }

  /** Sends one heartbeat; a failure is logged, and the next beat tries again. */
  async runOnce(): Promise<void> {
    const { rpc, logger } = this.deps;
    const leases = this.deps.leases();
    const progress = leases.map((l) => this.deps.progressOf(l));
    const sent = leases.map((l, i) => ({ jobId: l.jobId, queue: l.queue, leaseToken: l.leaseToken, progress: progress[i]?.progress }));
    let states;
    try {
      const res = await rpc.client.heartbeat(
        { workerId: this.deps.workerId(), leases: sent },
        { timeoutMs: Math.min(rpcTimeoutMs, Math.max(this.deps.intervalMs, 1000)) },
      );
      states = res.leases;
      for (const p of progress) p?.ack();
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

  /**
   * A handler reported progress: beats early so that it shows soon, but at most one beat per
   * MIN_PROGRESS_BEAT_MS, so a handler reporting in a tight loop costs one call a second.
   */
  progressChanged(): void {
    if (this.early !== undefined) return;
    const waitMs = this.lastBeat + MIN_PROGRESS_BEAT_MS - performance.now();
    if (waitMs <= 0) return this.loop.wake();
    this.early = setTimeout(() => {
      this.early = undefined;
      this.loop.wake();
    }, waitMs);
  }

  /** Stops beating; resolves once a beat in flight has ended. */
  stop(): Promise<void> {
    clearTimeout(this.early);
    this.early = undefined;
    return this.loop.stop();
  }

  /**
   * One beat. Beats keep their cadence however long a call takes, so a slow heartbeat does not
   * push the next one past the lease (the wait is measured from the previous beat's start).
   */
  private async round(): Promise<number> {
    const now = performance.now();
    // An early beat (progress) leaves the regular cadence as it was.
    if (now >= this.next - 1) this.next = Math.max(this.next + this.deps.intervalMs, now);
    this.lastBeat = now;
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
