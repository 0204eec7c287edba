import type { Logger } from "pino";
import type { DueChannel } from "../redis/due-channel.js";
import { RedisClock } from "../redis/redis-clock.js";
import { DueSchedule, earliestDue, timerDelayMs, type StartAsked } from "./due-schedule.js";
import { promoteQueues, type PromoteTarget } from "./promote-delayed.js";

/**
 * How long after a due time the timer fires, in ms: Node timers count whole ms and may run up
 * to one early, and the scripts compare whole ms of Redis's clock.
 */
const LATE_MS = 1;
/**
 * Least time between the starts of two fires, in ms: jobs falling due in a steady stream are
 * promoted in batches (one script call per queue for all jobs due meanwhile), not one call
 * each, at the cost of starting up to this much later.
 */
const FIRE_GAP_MS = 5;
/**
 * Least wait before firing again after a fire that promoted nothing while Redis still shows a
 * job due (only a clock jumping can do that): a slow retry, never a hot loop.
 */
const STILL_DUE_WAIT_MS = 10;
/** First and longest wait after a failed fire (Redis down), in ms; doubled per failure. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;

export interface DueTimerDeps extends PromoteTarget {
  /** Tells the other replicas' timers of due times, and them of ours; none: this replica alone. */
  channel?: DueChannel;
  logger: Logger;
}

/**
 * Promotes delayed jobs (scheduled runs and retries) when they fall due: one timer per replica,
 * armed for the earliest due time among the queues' delayed sets. It learns of due times from
 * the paths that put jobs into a delayed set on this replica ({@link enqueued}, {@link delayed}),
 * from the other replicas (a {@link DueChannel} message whenever a queue gets a job due earlier
 * than its sender knew), and from reads of the sets' heads: after each fire for the queues it
 * promoted, and after each sweep of {@link PromoteDelayed} for every queue. On firing it runs
 * the promotion script for the due queues (atomic: every replica fires, one moves each job),
 * announces the jobs that became ready to the waiting workers, reads those queues' next due
 * times (TIME plus one ZRANGE per queue, sent together) and re-arms. Due times are Redis's
 * clock, mapped to a local timer by {@link RedisClock}, so it fires a ms or so late, not early;
 * one that fires early finds nothing due, reads, and re-arms.
 */
export class DueTimer {
  private readonly schedule = new DueSchedule();
  private readonly clock = new RedisClock();
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  /** The due time (Redis's clock) the timer is armed for. */
  private armedFor: number | undefined;
  private firing: Promise<void> | undefined;
  /** Local monotonic time before which the timer does not fire (see FIRE_GAP_MS, backoff). */
  private quietUntil = 0;
  private failures = 0;
  /** Queues whose heads wait to be read, and those of them whose lower head to announce. */
  private readonly toRead = new Set<string>();
  private readonly toTell = new Set<string>();
  private reading: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly d: DueTimerDeps) {
    this.logger = d.logger.child({ component: "due-timer" });
  }

  /** Subscribes to the other replicas' due times; after a lost subscription, reads every known queue again. */
  async listen(): Promise<void> {
    await this.d.channel?.start({
      due: (queue, dueMs) => void this.note(queue, dueMs),
      resubscribed: () => void this.refreshKnown(),
    });
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.arm();
  }

  /** Disarms, waits for a fire or read in progress, and unsubscribes. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = undefined;
    await Promise.all([this.firing, this.reading]);
    await this.d.channel?.stop();
  }

  /**
   * Jobs were enqueued into `queue`: call once the enqueue answered, with `sentMs` the local
   * monotonic time (`performance.now()`) from before it was sent. Arms for those that may have
   * gone to the delayed set, and tells the other replicas when one is due earlier than known.
   */
  enqueued(queue: string, jobs: readonly StartAsked[], sentMs: number): void {
    const dueMs = earliestDue(jobs, this.clock.toRedis(sentMs), this.clock.now());
    if (dueMs !== undefined) this.delayed(queue, dueMs);
  }

  /**
   * Jobs went into `queue`'s delayed set, the earliest due at `dueMs` (Redis's clock, ms since
   * the Unix epoch); without it (a retry, whose backoff the script draws), the set's head is
   * read. Either way the other replicas hear of a due time earlier than this one knew.
   */
  delayed(queue: string, dueMs?: number): void {
    if (dueMs === undefined) {
      void this.refresh([queue], { tell: true });
    } else if (this.note(queue, dueMs)) {
      void this.d.channel?.publish(queue, dueMs);
    }
  }

  /**
   * Reads the heads of `queues`' delayed sets and arms for them; reads asked for meanwhile go
   * together in the next one. With `tell`, a head earlier than known is told to the other
   * replicas. A failed read is logged and leaves those queues due now, so the timer's own
   * retries (with backoff) look at them.
   */
  refresh(queues: readonly string[], opts: { tell: boolean }): Promise<void> {
    for (const q of queues) {
      this.toRead.add(q);
      if (opts.tell) this.toTell.add(q);
    }
    // readWaiting awaits at least once when there is something to read, so it cannot end
    // (and clear `reading`) before `reading` is set.
    if (this.toRead.size === 0) return this.reading ?? Promise.resolve();
    this.reading ??= this.readWaiting();
    return this.reading;
  }

  /**
   * One fire: promotes the queues due by Redis's time as this replica knows it, announces the
   * jobs that became ready, and reads those queues' next due times.
   * @returns the jobs promoted.
   * @throws unavailable when Redis cannot be reached.
   */
  async runOnce(): Promise<number> {
    const queues = this.schedule.dueBy(this.clock.now() + LATE_MS);
    if (queues.length === 0) return 0;
    const mark = this.schedule.mark();
    const promoted = await promoteQueues(this.d, this.logger, queues);
    await this.readHeads(queues, mark);
    return promoted;
  }

  /** The due time the timer is armed for (Redis's clock), undefined when disarmed; for tests. */
  get armedDueMs(): number | undefined {
    return this.armedFor;
  }

  /** Notes a due time; re-arms when it is the earliest. Returns whether it was earlier than known of the queue. */
  private note(queue: string, dueMs: number): boolean {
    if (!this.schedule.note(queue, dueMs)) return false;
    if (this.armedFor === undefined || dueMs < this.armedFor) this.armFor(dueMs);
    return true;
  }

  private arm(): void {
    const dueMs = this.schedule.earliest();
    if (dueMs === undefined) {
      clearTimeout(this.timer);
      this.armedFor = undefined;
      return;
    }
    this.armFor(dueMs);
  }

  /** Arms for `dueMs`; a fire in progress arms again when it ends, from everything known by then. */
  private armFor(dueMs: number): void {
    if (this.stopped || this.firing !== undefined || this.armedFor === dueMs) return;
    clearTimeout(this.timer);
    this.armedFor = dueMs;
    const now = performance.now();
    const waitMs = timerDelayMs(this.clock.toLocal(dueMs) + LATE_MS - now, this.quietUntil - now);
    this.timer = setTimeout(() => this.fire(), waitMs);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = undefined;
    this.firing = this.fireAndArm();
  }

  private async fireAndArm(): Promise<void> {
    const began = performance.now();
    this.quietUntil = began + FIRE_GAP_MS;
    try {
      const promoted = await this.runOnce();
      this.failures = 0;
      const next = this.schedule.earliest();
      if (promoted === 0 && next !== undefined && next <= this.clock.now()) this.quietUntil = performance.now() + STILL_DUE_WAIT_MS;
    } catch (err) {
      this.failures += 1;
      this.quietUntil = performance.now() + Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (this.failures - 1));
      this.logger.warn({ err, failures: this.failures }, "delayed promotion failed");
    } finally {
      this.firing = undefined;
    }
    this.arm();
  }

  private async readWaiting(): Promise<void> {
    try {
      while (this.toRead.size > 0) {
        const queues = [...this.toRead];
        this.toRead.clear();
        const tell = queues.filter((q) => this.toTell.delete(q));
        await this.readAndTell(queues, new Set(tell));
      }
    } finally {
      this.reading = undefined;
    }
  }

  private async readAndTell(queues: readonly string[], tell: ReadonlySet<string>): Promise<void> {
    try {
      const earlier = await this.readHeads(queues, this.schedule.mark());
      for (const queue of earlier) {
        if (tell.has(queue)) void this.d.channel?.publish(queue, this.schedule.headOf(queue)!);
      }
    } catch (err) {
      this.logger.warn({ err, queues: queues.length }, "delayed heads read failed");
      const now = this.clock.now();
      for (const q of queues) this.schedule.note(q, now);
      this.arm();
    }
  }

  /** Reads `queues`' heads (see {@link DueSchedule.applyRead} for `mark`) and re-arms; resolves to the queues now due earlier than known. */
  private async readHeads(queues: readonly string[], mark: number): Promise<string[]> {
    const read = await this.d.store.delayedHeads(queues);
    this.clock.sample(read.redisMs, read.receivedMs);
    const earlier = queues.filter((q, i) => this.schedule.applyRead(q, read.heads[i], mark));
    if (this.failures > 0 && this.firing === undefined) {
      // Redis answers again: what fell due meanwhile need not wait out the failure backoff.
      this.failures = 0;
      this.quietUntil = 0;
      this.armedFor = undefined;
    }
    this.arm();
    return earlier;
  }

  private async refreshKnown(): Promise<void> {
    try {
      await this.refresh(await this.d.store.knownQueues(), { tell: false });
    } catch (err) {
      this.logger.warn({ err }, "delayed heads read failed");
    }
  }
}
