import type { Logger } from "pino";
import type { SchedulerMetrics } from "../metrics.js";
import type { LeaseWaiters } from "../redis/lease-waiters.js";
import { addTypeCounts, type TypeCounts } from "../redis/job-records.js";
import type { QueueStore } from "../redis/queue-store.js";
import { PeriodicLoop } from "@taskflow/service-kit";

/** Leases recovered per script call; bounds how long one call blocks Redis. */
export const EXPIRE_BATCH = 500;

export interface ExpireLeasesDeps {
  store: QueueStore;
  waiters: LeaseWaiters;
  intervalMs: number;
  logger: Logger;
  /** Called when transitions were written to an outbox. */
  eventsWritten: () => void;
  /** Counts the leases recovered, per queue. */
  jobsExpired?: SchedulerMetrics["jobsExpired"];
}

/**
 * Recovers jobs whose lease ran out: back to ready (LEASE_EXPIRED), failed
 * after their last attempt, or cancelled when a cancel was requested. Safe on
 * several replicas: each recovery is one atomic script call.
 */
export class ExpireLeases {
  private readonly loop: PeriodicLoop;
  private readonly logger: Logger;

  constructor(private readonly d: ExpireLeasesDeps) {
    this.logger = d.logger.child({ component: "expire-leases" });
    this.loop = new PeriodicLoop({ intervalMs: d.intervalMs, logger: this.logger, run: () => this.runOnce() });
  }

  /** One sweep over every queue; resolves to the leases recovered. */
  async runOnce(): Promise<{ requeued: number; ended: number }> {
    const queues = await this.d.store.knownQueues();
    const results = await Promise.all(queues.map((q) => this.expireQueue(q)));
    const total = results.reduce((a, r) => ({ requeued: a.requeued + r.requeued, ended: a.ended + r.ended }), {
      requeued: 0,
      ended: 0,
    });
    if (total.requeued + total.ended > 0) this.d.eventsWritten();
    await this.d.waiters.announce(queues.map((queue, i) => ({ queue, ready: results[i]!.ready })));
    return total;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async expireQueue(queue: string): Promise<{ requeued: number; ended: number; ready: TypeCounts }> {
    const total = { requeued: 0, ended: 0, ready: new Map<string, number>() };
    for (;;) {
      const r = await this.d.store.expireLeases(queue, EXPIRE_BATCH);
      total.requeued += r.requeued;
      total.ended += r.ended;
      addTypeCounts(total.ready, r.ready);
      if (r.requeued + r.ended < EXPIRE_BATCH) break;
    }
    if (total.requeued + total.ended > 0) {
      this.d.jobsExpired?.inc({ queue }, total.requeued + total.ended);
      this.logger.info({ queue, requeued: total.requeued, ended: total.ended }, "expired leases recovered");
    }
    return total;
  }
}
