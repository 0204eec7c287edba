import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { TypeCounts } from "./job-records.js";
import { queueKeys, queueOfWakeChannel, wakePattern } from "./keys.js";
import type { RedisClient } from "./redis-client.js";

/** Jobs that became ready in one queue, per job type. */
export interface Arrival {
  queue: string;
  ready: TypeCounts;
}

/** How one long poll ended its wait. */
export type WaitEnd = "woken" | "timeout" | "aborted";

/**
 * One long poll's registration, kept for the whole call: begin and end each lease attempt on
 * it, wait on it between attempts, and dispose of it when the call answers.
 */
export interface LeaseWaiter {
  /** A lease attempt starts: wakes from now on call for another attempt. */
  beginAttempt(): void;
  /** The attempt leased `leased` jobs. */
  endAttempt(leased: number): void;
  /** Changes how many jobs it takes at once (a stream's credits); 0 takes no wake. */
  setWant(want: number): void;
  /** Resolves when jobs it can take arrived since its attempt began, after `ms`, or when `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<WaitEnd>;
  /** Unregisters. A wake it took and did not act on (or that may have left jobs) goes to another waiter. */
  dispose(): void;
}

/** What a long poll waits for. */
export interface WaitFor {
  queues: readonly string[];
  /** Job types it leases; empty: any. */
  types: readonly string[];
  /** Most jobs it leases at once. */
  want: number;
}

interface Waiter extends WaitFor {
  fire: () => void;
  /** Woken since its last lease attempt. */
  fired: boolean;
  /** Its last attempt leased as many jobs as it wanted: more may be ready. */
  full: boolean;
}

/**
 * Wake-ups for long-polling LeaseJobs calls. Waiters register per queue in this process;
 * enqueues, promotions, releases and expiries announce how many jobs of which types became
 * ready, both locally and on the queue's Redis channel, which one subscriber connection per
 * process listens to. Each replica then wakes as few of its waiters as can take those jobs (in
 * the order they started waiting, matching types, counting what each asks for), not every
 * waiter of the queue; a woken waiter that goes away without leasing, or leases all it asked
 * for (so more may be waiting), passes the wake on.
 */
export class LeaseWaiters {
  private readonly waiting = new Map<string, Set<Waiter>>();
  private readonly id = randomBytes(6).toString("base64url");
  private isClosed = false;
  private readonly retries = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly keyPrefix: string,
    private readonly logger: Logger,
  ) {}

  /** Subscribes to the wake channels of every queue under the key prefix. */
  async start(): Promise<void> {
    this.subscriber.on("pmessage", (_pattern: string, channel: string, message: string) => {
      const queue = queueOfWakeChannel(this.keyPrefix, channel);
      const parsed = parseMessage(message);
      // This replica woke its own waiters when it announced.
      if (queue !== undefined && parsed !== undefined && parsed.from !== this.id) this.wakeLocal(queue, parsed.ready);
    });
    await this.subscriber.psubscribe(wakePattern(this.keyPrefix));
  }

  /**
   * Registers interest. Register before trying to lease: jobs arriving between the empty try
   * and the wait then still wake the waiter.
   */
  register(what: WaitFor): LeaseWaiter {
    let arm!: () => void;
    let woken!: Promise<void>;
    const rearm = (): void => {
      woken = new Promise<void>((resolve) => (arm = resolve));
    };
    rearm();
    const w: Waiter = { ...what, fired: false, full: false, fire: () => undefined };
    w.fire = () => {
      w.fired = true;
      arm();
    };
    for (const q of what.queues) this.setOf(q).add(w);
    if (this.isClosed) w.fire();
    return {
      beginAttempt: () => {
        w.fired = this.isClosed;
        if (!this.isClosed) rearm();
      },
      endAttempt: (leased) => {
        w.full = w.want > 0 && leased >= w.want;
      },
      setWant: (want) => {
        w.want = want;
      },
      wait: (ms, signal) => waitFor(woken, ms, signal),
      dispose: () => {
        for (const q of w.queues) {
          const s = this.waiting.get(q);
          s?.delete(w);
          if (s?.size === 0) this.waiting.delete(q);
        }
        if ((w.fired || w.full) && !this.isClosed) this.passOn(w);
      },
    };
  }

  /** Announces jobs that became ready: wakes waiters that can take them here at once, and on other replicas through Redis. */
  async announce(arrivals: readonly Arrival[]): Promise<void> {
    const some = arrivals.filter((a) => [...a.ready.values()].some((n) => n > 0));
    for (const a of some) this.wakeLocal(a.queue, a.ready);
    try {
      await Promise.all(
        some.map((a) => this.publisher.publish(queueKeys(this.keyPrefix, a.queue).wakeChannel, formatMessage(this.id, a.ready))),
      );
    } catch (err) {
      // Other replicas' waiters still wake at their own wait timeout; nothing is lost.
      this.logger.warn({ err, queues: some.map((a) => a.queue) }, "wake publish failed");
    }
  }

  /**
   * Wakes every waiter of `queue` on this replica after `ms`: a queue its limits held back may
   * lease again then (its jobs stay ready, so no announcement comes). One timer per queue.
   */
  retryLater(queue: string, ms: number): void {
    if (this.retries.has(queue) || this.isClosed) return;
    const timer = setTimeout(() => {
      this.retries.delete(queue);
      for (const w of this.waiting.get(queue) ?? []) w.fire();
    }, ms);
    this.retries.set(queue, timer);
  }

  /** Wakes every waiter, now and for good, so pending long polls answer before shutdown. */
  async close(): Promise<void> {
    this.isClosed = true;
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
    for (const s of this.waiting.values()) for (const w of s) w.fire();
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

  private setOf(queue: string): Set<Waiter> {
    let s = this.waiting.get(queue);
    if (s === undefined) {
      s = new Set();
      this.waiting.set(queue, s);
    }
    return s;
  }

  /** Wakes waiters of `queue`, oldest first, until what they ask for covers the jobs of types they take. */
  private wakeLocal(queue: string, ready: TypeCounts): void {
    const left = new Map(ready);
    for (const w of this.waiting.get(queue) ?? []) {
      if (w.fired) continue;
      let take = w.want;
      for (const [type, n] of left) {
        if (n <= 0 || !(w.types.length === 0 || w.types.includes(type))) continue;
        const got = Math.min(n, take);
        left.set(type, n - got);
        take -= got;
        if (take === 0) break;
      }
      if (take === w.want) continue;
      w.fire();
      if ([...left.values()].every((n) => n <= 0)) return;
    }
  }

  /** Hands a wake `w` did not use up to another waiter of its queues that takes the same types. */
  private passOn(w: Waiter): void {
    for (const q of w.queues) {
      for (const other of this.waiting.get(q) ?? []) {
        if (other.fired) continue;
        const overlaps = w.types.length === 0 || other.types.length === 0 || other.types.some((t) => w.types.includes(t));
        if (!overlaps) continue;
        other.fire();
        return;
      }
    }
  }
}

/** `<from>|<type>=<n>,...`: who announced, and the jobs per type (type names hold no `=` or `,`). */
function formatMessage(from: string, ready: TypeCounts): string {
  return `${from}|${[...ready].map(([type, n]) => `${type}=${n}`).join(",")}`;
}

function parseMessage(message: string): { from: string; ready: TypeCounts } | undefined {
  const bar = message.indexOf("|");
  if (bar < 0) return undefined;
  const ready = new Map<string, number>();
  for (const part of message.slice(bar + 1).split(",")) {
    const eq = part.lastIndexOf("=");
    const n = Number(part.slice(eq + 1));
    if (eq > 0 && Number.isInteger(n) && n > 0) ready.set(part.slice(0, eq), n);
  }
  return { from: message.slice(0, bar), ready };
}

function waitFor(fired: Promise<void>, ms: number, signal: AbortSignal): Promise<WaitEnd> {
  if (signal.aborted) return Promise.resolve("aborted");
  if (ms <= 0) return Promise.resolve("timeout");
  return new Promise<WaitEnd>((resolve) => {
    const done = (end: WaitEnd): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(end);
    };
    const onAbort = (): void => done("aborted");
    const timer = setTimeout(() => done("timeout"), ms);
    signal.addEventListener("abort", onAbort, { once: true });
    void fired.then(() => done("woken"));
  });
}
