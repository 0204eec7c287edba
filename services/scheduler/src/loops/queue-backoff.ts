/** First and longest wait of a queue after a failure, in ms. */
const BASE_MS = 200;
const MAX_MS = 30_000;

/**
 * Failure backoff per queue for a loop that sweeps many queues: a queue that failed waits
 * (exponentially longer, with jitter) before the loop tries it again, while the other queues go
 * on at the loop's pace.
 */
export class QueueBackoff {
  private readonly failing = new Map<string, { failures: number; retryAt: number }>();

  /** Whether `queue` may be tried now. */
  due(queue: string): boolean {
    const f = this.failing.get(queue);
    return f === undefined || performance.now() >= f.retryAt;
  }

  /** Records a failure of `queue`; returns the wait before its next try, in ms. */
  failed(queue: string): number {
    const failures = (this.failing.get(queue)?.failures ?? 0) + 1;
    const ceiling = Math.min(MAX_MS, BASE_MS * 2 ** Math.min(failures - 1, 20));
    const waitMs = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    this.failing.set(queue, { failures, retryAt: performance.now() + waitMs });
    return waitMs;
  }

  succeeded(queue: string): void {
    this.failing.delete(queue);
  }

  /** Forgets the queues not in `queues`. */
  retain(queues: readonly string[]): void {
    const keep = new Set(queues);
    for (const q of this.failing.keys()) if (!keep.has(q)) this.failing.delete(q);
  }
}
