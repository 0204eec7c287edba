import type { Redis } from "ioredis";
import { callRedis } from "../errors.js";
import { reconcileStateKey } from "./keys.js";

/** Where the reconciler's walk of Redis's queue sets stands. */
export interface SetWalk {
  queue: string;
  /** The sorted set being walked. */
  set: string;
  /** ZSCAN cursor in it; "0" to start the set. */
  cursor: string;
}

/**
 * The reconciler's progress, kept in Redis so that whichever replica reconciles next goes on
 * from it.
 */
export interface ReconcileState {
  /** Every unfinished job up to this id was checked against Redis. */
  cursor: string;
  /** Where the next walk of the queue sets starts; undefined: at the first queue. */
  walk: SetWalk | undefined;
}

/**
 * Reads and writes the reconciler's progress (`<prefix>:reconcile`). The key also marks that
 * Redis holds its data: it is written at the end of the first complete reconciliation and never
 * expires, so Redis without it has lost its data (a restart without persistence, a failover to
 * an empty replica, a flush) or is new, and every unfinished job must come back from history.
 */
export class ReconcileStateStore {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
  ) {
    this.key = reconcileStateKey(keyPrefix);
  }

  /** Whether the marker is there (Redis kept its data). */
  async present(): Promise<boolean> {
    return (await callRedis(() => this.redis.exists(this.key))) === 1;
  }

  /** The progress; undefined when Redis lost its data or is new. */
  async read(): Promise<ReconcileState | undefined> {
    const f = await callRedis(() => this.redis.hgetall(this.key));
    if (f.cursor === undefined) return undefined;
    const walk = f.walk_queue === undefined || f.walk_set === undefined
      ? undefined
      : { queue: f.walk_queue, set: f.walk_set, cursor: f.walk_cursor ?? "0" };
    return { cursor: f.cursor, walk };
  }

  /** Saves the progress (creating the marker). */
  async write(state: ReconcileState): Promise<void> {
    const w = state.walk;
    await callRedis(async () => {
      const tx = this.redis.multi().hset(this.key, "cursor", state.cursor);
      if (w === undefined) tx.hdel(this.key, "walk_queue", "walk_set", "walk_cursor");
      else tx.hset(this.key, "walk_queue", w.queue, "walk_set", w.set, "walk_cursor", w.cursor);
      await tx.exec();
    });
  }
}

/** The smallest UUIDv7 of millisecond `ms`: every job created at `ms` or later sorts after it. */
export function idFloor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}
