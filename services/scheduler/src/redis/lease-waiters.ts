import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { queueKeys, queueOfWakeChannel, wakePattern } from "./keys.js";

/** One long-poll's registration; wait on it at most once, then dispose of it. */
export interface LeaseWaiter {
  /** Resolves when a watched queue gets ready jobs, after `ms`, or when `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void>;
  dispose(): void;
}

/**
 * Wake-ups for long-polling LeaseJobs calls. Waiters register per queue in
 * this process; enqueues, promotions, releases and expiries announce a queue
 * both locally and on the queue's Redis channel, which one subscriber
 * connection per process listens to, so a job accepted by any replica wakes
 * the waiters of every replica.
 */
export class LeaseWaiters {
  private readonly waiting = new Map<string, Set<() => void>>();
  private isClosed = false;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly keyPrefix: string,
    private readonly logger: Logger,
  ) {}

  /** Subscribes to the wake channels of every queue under the key prefix. */
  async start(): Promise<void> {
    this.subscriber.on("pmessage", (_pattern: string, channel: string) => {
      const queue = queueOfWakeChannel(this.keyPrefix, channel);
      if (queue !== undefined) this.wakeLocal(queue);
    });
    await this.subscriber.psubscribe(wakePattern(this.keyPrefix));
  }

  /**
   * Registers interest in `queues`. Register before trying to lease: a job
   * arriving between the empty try and the wait then still wakes the waiter.
   */
  register(queues: readonly string[]): LeaseWaiter {
    let fire!: () => void;
    const fired = new Promise<void>((resolve) => (fire = resolve));
    const sets = queues.map((q) => this.setOf(q));
    for (const s of sets) s.add(fire);
    if (this.isClosed) fire();
    return {
      wait: (ms, signal) => waitFor(fired, ms, signal),
      dispose: () => {
        for (const [i, s] of sets.entries()) {
          s.delete(fire);
          if (s.size === 0) this.waiting.delete(queues[i]!);
        }
      },
    };
  }

  /** Announces that `queues` have ready jobs, here at once and to other replicas through Redis. */
  async announce(queues: Iterable<string>): Promise<void> {
    const unique = [...new Set(queues)];
    for (const q of unique) this.wakeLocal(q);
    try {
      await Promise.all(unique.map((q) => this.publisher.publish(queueKeys(this.keyPrefix, q).wakeChannel, "1")));
    } catch (err) {
      // Other replicas' waiters still wake at their own wait timeout; nothing is lost.
      this.logger.warn({ err, queues: unique }, "wake publish failed");
    }
  }

  /** Wakes every waiter, now and for good, so pending long polls answer before shutdown. */
  async close(): Promise<void> {
    this.isClosed = true;
    for (const q of [...this.waiting.keys()]) this.wakeLocal(q);
    await this.subscriber.punsubscribe().catch(() => undefined);
  }

  /** Whether {@link close} ran: long polls should answer instead of waiting. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Number of registered waiters on `queue`, for tests and metrics. */
  count(queue: string): number {
    return this.waiting.get(queue)?.size ?? 0;
  }

  private setOf(queue: string): Set<() => void> {
    let s = this.waiting.get(queue);
    if (s === undefined) {
      s = new Set();
      this.waiting.set(queue, s);
    }
    return s;
  }

  private wakeLocal(queue: string): void {
    for (const fire of this.waiting.get(queue) ?? []) fire();
  }
}

function waitFor(fired: Promise<void>, ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    void fired.then(done);
  });
}
