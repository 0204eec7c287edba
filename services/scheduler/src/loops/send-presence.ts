import type { Logger } from "pino";
import { PeriodicLoop } from "@taskflow/service-kit";
import type { HistoryClient, WorkerInit } from "../history-client.js";

/** Most workers per UpsertWorkers call. */
export const PRESENCE_BATCH = 500;

export interface SendPresenceDeps {
  history: HistoryClient;
  intervalMs: number;
  logger: Logger;
}

/**
 * Sends workers' presence (what each heartbeat learned) to history in the background, so that
 * a heartbeat's answer (ACTIVE, LOST, CANCEL_REQUESTED) never waits on history: a slow or absent
 * history must not keep workers from learning that a lease was lost or a job cancelled. Only the
 * latest record of each worker is kept until sent; a failed send is retried with the loop's
 * backoff, newer records replacing the unsent ones.
 */
export class SendPresence {
  private readonly loop: PeriodicLoop;
  private readonly logger: Logger;
  private pending = new Map<string, WorkerInit>();

  constructor(private readonly d: SendPresenceDeps) {
    this.logger = d.logger.child({ component: "send-presence" });
    this.loop = new PeriodicLoop({ intervalMs: d.intervalMs, logger: this.logger, run: () => this.runOnce() });
  }

  /** Queues a worker's record (replacing any unsent one) and asks for a send. */
  note(worker: WorkerInit): void {
    this.pending.set(String(worker.id), worker);
    this.loop.nudge();
  }

  /** Sends what is queued; resolves to the number of workers sent. @throws unavailable when history fails (the records stay queued). */
  async runOnce(): Promise<number> {
    if (this.pending.size === 0) return 0;
    const sending = this.pending;
    this.pending = new Map();
    const workers = [...sending.values()];
    try {
      for (let i = 0; i < workers.length; i += PRESENCE_BATCH) {
        await this.d.history.upsertWorkers(workers.slice(i, i + PRESENCE_BATCH));
      }
    } catch (err) {
      // Newer records noted meanwhile win over the ones that failed.
      for (const [id, w] of sending) if (!this.pending.has(id)) this.pending.set(id, w);
      throw err;
    }
    return workers.length;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
