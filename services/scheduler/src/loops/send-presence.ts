import type { Logger } from "pino";
import { PeriodicLoop } from "@taskflow/service-kit";
import { Code, ConnectError } from "@connectrpc/connect";
import { HISTORY_CALL_TIMEOUT_MS, type HistoryClient, type WorkerInit } from "../history-client.js";

/** Most workers per UpsertWorkers call. */
export const PRESENCE_BATCH = 500;

export interface SendPresenceDeps {
  history: HistoryClient;
  intervalMs: number;
  logger: Logger;
}

interface Pending {
  worker: WorkerInit;
  /** Callers waiting for this record to reach history. */
  waiting: { resolve: () => void; reject: (err: unknown) => void }[];
}

/**
 * Sends workers' presence to history in the background, in order per worker, so that a
 * heartbeat's answer (ACTIVE, LOST, CANCEL_REQUESTED) never waits on history: a slow or absent
 * history must not keep workers from learning that a lease was lost or a job cancelled. Only the
 * latest record of each worker is kept until sent, so a departure (GONE) is never overwritten by
 * an older heartbeat's record; one send is in flight at a time, and a failed send is retried with
 * the loop's backoff.
 */
export class SendPresence {
  private readonly loop: PeriodicLoop;
  private readonly logger: Logger;
  private pending = new Map<string, Pending>();

  constructor(private readonly d: SendPresenceDeps) {
    this.logger = d.logger.child({ component: "send-presence" });
    this.loop = new PeriodicLoop({ intervalMs: d.intervalMs, logger: this.logger, run: () => this.runOnce() });
  }

  /** Queues a worker's record (replacing any unsent one) and asks for a send. */
  note(worker: WorkerInit): void {
    this.queue(worker, []);
    this.loop.nudge();
  }

  /**
   * Queues a worker's record and resolves once history has it (or a newer record of the worker).
   * @throws unavailable when the send fails or takes longer than `timeoutMs`; the record stays
   *   queued and is retried.
   */
  async send(worker: WorkerInit, timeoutMs = HISTORY_CALL_TIMEOUT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const sent = new Promise<void>((resolve, reject) => this.queue(worker, [{ resolve, reject }]));
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ConnectError("history unavailable", Code.Unavailable)), timeoutMs);
    });
    this.loop.nudge();
    try {
      await Promise.race([sent, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends what is queued; resolves to the number of workers sent. @throws unavailable when history fails (the records stay queued). */
  async runOnce(): Promise<number> {
    if (this.pending.size === 0) return 0;
    const sending = this.pending;
    this.pending = new Map();
    const batch = [...sending.values()];
    try {
      for (let i = 0; i < batch.length; i += PRESENCE_BATCH) {
        await this.d.history.upsertWorkers(batch.slice(i, i + PRESENCE_BATCH).map((p) => p.worker));
      }
    } catch (err) {
      for (const [id, p] of sending) {
        for (const w of p.waiting) w.reject(err);
        // Newer records noted meanwhile win over the ones that failed.
        if (!this.pending.has(id)) this.pending.set(id, { worker: p.worker, waiting: [] });
      }
      throw err;
    }
    for (const p of batch) for (const w of p.waiting) w.resolve();
    return batch.length;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private queue(worker: WorkerInit, waiting: Pending["waiting"]): void {
    const id = String(worker.id);
    const before = this.pending.get(id);
    this.pending.set(id, { worker, waiting: [...(before?.waiting ?? []), ...waiting] });
  }
}
