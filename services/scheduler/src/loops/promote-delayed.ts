import type { Logger } from "pino";
import type { LeaseWaiters } from "../redis/lease-waiters.js";
import { addTypeCounts, type TypeCounts } from "../redis/job-records.js";
import type { QueueStore } from "../redis/queue-store.js";
import { PeriodicLoop } from "@taskflow/service-kit";

/** Jobs moved per script call; bounds how long one call blocks Redis. */
export const PROMOTE_BATCH = 1_000;

export interface PromoteDelayedDeps {
  store: QueueStore;
  waiters: LeaseWaiters;
  intervalMs: number;
  logger: Logger;
}

/**
 * Moves due delayed jobs (scheduled runs and retries) into the ready sets of
 * every known queue and wakes the workers waiting on those queues. Safe on
 * several replicas: each move is one atomic script call.
 */
export class PromoteDelayed {
  private readonly loop: PeriodicLoop;
  private readonly logger: Logger;

  constructor(private readonly d: PromoteDelayedDeps) {
    this.logger = d.logger.child({ component: "promote-delayed" });
    this.loop = new PeriodicLoop({ intervalMs: d.intervalMs, logger: this.logger, run: () => this.runOnce() });
  }

  /** One sweep over every queue; resolves to the number of jobs promoted. */
  async runOnce(): Promise<number> {
    const queues = await this.d.store.knownQueues();
    const ready = await Promise.all(queues.map((q) => this.promoteQueue(q)));
    await this.d.waiters.announce(queues.map((queue, i) => ({ queue, ready: ready[i]! })));
    return ready.reduce((n, counts) => n + [...counts.values()].reduce((a, b) => a + b, 0), 0);
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async promoteQueue(queue: string): Promise<TypeCounts> {
    const ready = new Map<string, number>();
    for (;;) {
      const r = await this.d.store.promoteDelayed(queue, PROMOTE_BATCH);
      addTypeCounts(ready, r.ready);
      if (r.moved < PROMOTE_BATCH) break;
    }
    if (ready.size > 0) this.logger.debug({ queue, promoted: Object.fromEntries(ready) }, "delayed jobs promoted");
    return ready;
  }
}
