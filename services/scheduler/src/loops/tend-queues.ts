import type { Logger } from "pino";
import { PeriodicLoop } from "@taskflow/service-kit";
import type { OutboxReader } from "../redis/outbox.js";
import type { QueueStore } from "../redis/queue-store.js";

export interface TendQueuesDeps {
  store: QueueStore;
  reader: OutboxReader;
  intervalMs: number;
  /** How long a queue must hold nothing and receive nothing before it is forgotten, in ms. */
  idleMs: number;
  /** How long an outbox consumer with nothing pending may go without reading before it is removed, in ms. */
  consumerIdleMs: number;
  /** Redis's clock, ms since the Unix epoch. */
  now: () => Promise<number>;
  logger: Logger;
}

/**
 * Keeps the set of swept queues to the queues in use, so that idle ones cost nothing: callers
 * choose queue names, and every loop of every replica sweeps every queue in the set each period.
 * A queue that holds no job, no outbox or parked entry, and received no job for `idleMs` leaves
 * the set (its next job brings it back). It also removes outbox consumers of scheduler processes
 * that are gone, and moves ready jobs left in the single ready set of earlier versions into the
 * per-type sets. Safe on several replicas: each step is atomic or idempotent.
 */
export class TendQueues {
  private readonly loop: PeriodicLoop;
  private readonly logger: Logger;

  constructor(private readonly d: TendQueuesDeps) {
    this.logger = d.logger.child({ component: "tend-queues" });
    this.loop = new PeriodicLoop({ intervalMs: d.intervalMs, logger: this.logger, run: () => this.runOnce() });
  }

  /** One pass over the swept queues; resolves to the queues forgotten. */
  async runOnce(): Promise<string[]> {
    const queues = await this.d.store.knownQueues();
    const idleBefore = (await this.d.now()) - this.d.idleMs;
    const forgotten: string[] = [];
    for (const queue of queues) {
      const moved = await this.d.store.migrateLegacyReady(queue);
      if (moved > 0) this.logger.info({ queue, jobs: moved }, "legacy ready jobs moved to per-type sets");
      const removed = await this.d.reader.removeIdleConsumers(queue, this.d.consumerIdleMs);
      if (removed > 0) this.logger.info({ queue, consumers: removed }, "idle outbox consumers removed");
      if (await this.d.store.forgetIfIdle(queue, idleBefore)) forgotten.push(queue);
    }
    if (forgotten.length > 0) this.logger.info({ queues: forgotten }, "idle queues forgotten");
    return forgotten;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
