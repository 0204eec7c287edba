import type { Logger } from "pino";
import type { LeaseWaiters } from "../redis/lease-waiters.js";
import { addTypeCounts, type TypeCounts } from "../redis/job-records.js";
import type { QueueStore } from "../redis/queue-store.js";
import { PeriodicLoop } from "@taskflow/service-kit";
import type { DueTimer } from "./due-timer.js";

/** Jobs moved per script call; bounds how long one call blocks Redis. */
export const PROMOTE_BATCH = 1_000;

/** What promoting needs: the queues and the waiters to wake. */
export interface PromoteTarget {
  store: QueueStore;
  waiters: LeaseWaiters;
}

export interface PromoteDelayedDeps extends PromoteTarget {
  intervalMs: number;
  logger: Logger;
  /** The timer to give each sweep's view of every queue's next due time, when one runs. */
  timer?: Pick<DueTimer, "refresh">;
}

/**
 * The safety net of delayed promotion: every `intervalMs`, moves due delayed jobs (scheduled
 * runs and retries) into the ready sets of every known queue, wakes the workers waiting on
 * those queues, and hands the timer (see {@link DueTimer}, which promotes on time) every
 * queue's next due time. It catches what the timer missed: a due time announced while this
 * replica's subscriber was reconnecting, or by a replica that crashed before announcing it.
 * Safe on several replicas: each move is one atomic script call.
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
    const promoted = await promoteQueues(this.d, this.logger, queues);
    await this.d.timer?.refresh(queues, { tell: false });
    return promoted;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}

/**
 * Promotes every due delayed job of `queues`, then announces the jobs that became ready to
 * the waiting workers (here and on the other replicas); resolves to how many were promoted.
 * @throws unavailable when Redis cannot be reached.
 */
export async function promoteQueues(d: PromoteTarget, logger: Logger, queues: readonly string[]): Promise<number> {
  const ready = await Promise.all(queues.map((q) => promoteQueue(d.store, logger, q)));
  await d.waiters.announce(queues.map((queue, i) => ({ queue, ready: ready[i]! })));
  return ready.reduce((n, counts) => n + [...counts.values()].reduce((a, b) => a + b, 0), 0);
}

async function promoteQueue(store: QueueStore, logger: Logger, queue: string): Promise<TypeCounts> {
  const ready = new Map<string, number>();
  for (;;) {
    const r = await store.promoteDelayed(queue, PROMOTE_BATCH);
    addTypeCounts(ready, r.ready);
    if (r.moved < PROMOTE_BATCH) break;
  }
  if (ready.size > 0) logger.debug({ queue, promoted: Object.fromEntries(ready) }, "delayed jobs promoted");
  return ready;
}
