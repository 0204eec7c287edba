/**
 * What one replica knows of when delayed jobs fall due: per queue, the earliest due time of its
 * delayed set (Redis's clock, ms since the Unix epoch). Pure bookkeeping; {@link DueTimer} reads
 * Redis and arms the timer from it.
 *
 * Two kinds of news change it. A note (this replica or another put a job into a delayed set)
 * can only make a queue due earlier. A read of the set's head is the truth at the moment it was
 * sent, so it replaces what was known, except for notes that arrived after the read was sent:
 * the job they announce may be missing from the read, so those are kept (the earlier of the two
 * wins). An entry that turns out too early costs one promotion call and one read, never a job.
 */
export class DueSchedule {
  private readonly heads = new Map<string, { dueMs: number; seq: number }>();
  private seq = 0;

  /** Marks the moment a read is sent; pass it to {@link applyRead}. */
  mark(): number {
    return this.seq;
  }

  /**
   * Notes that `queue` holds a job due at `dueMs`.
   * @returns whether that is earlier than anything known of the queue.
   */
  note(queue: string, dueMs: number): boolean {
    this.seq += 1;
    const head = this.heads.get(queue);
    const earlier = head === undefined || dueMs < head.dueMs;
    this.heads.set(queue, { dueMs: earlier ? dueMs : head.dueMs, seq: this.seq });
    return earlier;
  }

  /**
   * Applies a read of `queue`'s delayed set sent at `mark` (see {@link mark}): `dueMs` is its
   * head, undefined when the set was empty.
   * @returns whether the queue is now due earlier than known before.
   */
  applyRead(queue: string, dueMs: number | undefined, mark: number): boolean {
    const head = this.heads.get(queue);
    if (head !== undefined && head.seq > mark) {
      // Noted after the read was sent: the read may not hold that job.
      if (dueMs !== undefined && dueMs < head.dueMs) head.dueMs = dueMs;
      return false;
    }
    if (dueMs === undefined) {
      this.heads.delete(queue);
      return false;
    }
    this.heads.set(queue, { dueMs, seq: head?.seq ?? 0 });
    return head === undefined || dueMs < head.dueMs;
  }

  /** The queues with a head at or before `nowMs`. */
  dueBy(nowMs: number): string[] {
    const due: string[] = [];
    for (const [queue, head] of this.heads) if (head.dueMs <= nowMs) due.push(queue);
    return due;
  }

  /** The earliest known due time, undefined when no queue holds a delayed job. */
  earliest(): number | undefined {
    let min: number | undefined;
    for (const head of this.heads.values()) if (min === undefined || head.dueMs < min) min = head.dueMs;
    return min;
  }

  /** The known head of `queue`. */
  headOf(queue: string): number | undefined {
    return this.heads.get(queue)?.dueMs;
  }

  /** Number of queues known to hold delayed jobs. */
  get size(): number {
    return this.heads.size;
  }
}

/** Longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` as a delay a Node timer honours: whole, at least `floorMs` (and 0), at most {@link MAX_TIMER_MS}. */
export function timerDelayMs(ms: number, floorMs = 0): number {
  if (Number.isNaN(ms)) return MAX_TIMER_MS;
  return Math.min(MAX_TIMER_MS, Math.max(floorMs, 0, Math.ceil(ms)));
}

/** When a job asked to start, as submitted (see EnqueueJob). */
export interface StartAsked {
  delayMs: number;
  /** Absolute start, ms since the Unix epoch on Redis's clock; 0: use `delayMs`. */
  runAtMs: number;
}

/**
 * The earliest due time among jobs just enqueued that may have gone to the delayed set, on
 * Redis's clock; undefined when none did. `sentMs` is a time at or before the enqueue script
 * ran (a job due by then was ready at once); `nowMs` one after it answered, from which a delay
 * counts (so the job is due no earlier than the timer arms for it on this replica).
 */
export function earliestDue(jobs: readonly StartAsked[], sentMs: number, nowMs: number): number | undefined {
  let min: number | undefined;
  for (const job of jobs) {
    const due = job.runAtMs > 0 ? job.runAtMs : job.delayMs > 0 ? nowMs + job.delayMs : undefined;
    if (due === undefined || due <= sentMs) continue;
    if (min === undefined || due < min) min = due;
  }
  return min;
}
