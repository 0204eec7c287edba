import { randomBytes } from "node:crypto";
import { callRedis } from "../errors.js";
import { reconcileStateKey } from "./keys.js";
import type { RedisClient } from "./redis-client.js";
import { defineScripts, type ScriptOptions, type Scripts } from "./scripts.js";

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

/** The state as a run finds it: its epoch, whether a restore completed, and the progress. */
export interface StoredState extends ReconcileState {
  epoch: string;
  /** A restore began under this epoch and has not completed (its replica may have died). */
  restoring: boolean;
}

/**
 * Reads and writes the reconciler's progress (`<prefix>:reconcile`). The hash also marks that
 * Redis holds its data: a restore writes it (phase "restoring", then "ok") and it never expires,
 * so Redis without it, or with a restore that never completed, has lost its data (a restart
 * without persistence, a failover to an empty replica, a flush) or is new, and every unfinished
 * job must come back from history. Each write names the epoch the run started from, so a run
 * that began before a loss cannot put the marker back (see save-reconcile-state.lua).
 */
export class ReconcileStateStore {
  private readonly key: string;
  private readonly scripts: Scripts;

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
    opts: ScriptOptions = {},
  ) {
    this.key = reconcileStateKey(keyPrefix);
    this.scripts = defineScripts(redis, opts);
  }

  /** Whether Redis holds its data: the marker is there and no restore is unfinished. */
  async intact(): Promise<boolean> {
    return (await callRedis(() => this.redis.hget(this.key, "phase"))) === "ok";
  }

  /** The state; undefined when Redis lost its data or is new. */
  async read(): Promise<StoredState | undefined> {
    const f = await callRedis(() => this.redis.hgetall(this.key));
    if (f.epoch === undefined) return undefined;
    const walk = f.walk_queue === undefined || f.walk_set === undefined
      ? undefined
      : { queue: f.walk_queue, set: f.walk_set, cursor: f.walk_cursor ?? "0" };
    return { epoch: f.epoch, restoring: f.phase !== "ok", cursor: f.cursor ?? "", walk };
  }

  /**
   * Starts a restore under a new epoch (see begin-restore.lua).
   * @returns the epoch; undefined when another replica completed a restore meanwhile.
   */
  async beginRestore(): Promise<string | undefined> {
    const epoch = randomBytes(12).toString("base64url");
    const began = await callRedis(() => this.scripts["begin-restore"]([this.key], [epoch]));
    return began === 1 ? epoch : undefined;
  }

  /**
   * Saves the progress of a run that started under `epoch` (and ends a restore).
   * @returns false when the state changed meanwhile (Redis lost its data again): nothing saved.
   */
  async save(epoch: string, state: ReconcileState): Promise<boolean> {
    const w = state.walk;
    const saved = await callRedis(() =>
      this.scripts["save-reconcile-state"]([this.key], [epoch, state.cursor, w?.queue ?? "", w?.set ?? "", w?.cursor ?? ""]),
    );
    return saved === 1;
  }

  /** Writes a completed state under a new epoch, whatever is there: for tests and first starts. */
  async reset(state: ReconcileState): Promise<void> {
    const epoch = await this.beginRestore();
    if (epoch !== undefined) await this.save(epoch, state);
  }
}

/** The smallest UUIDv7 of millisecond `ms`: every job created at `ms` or later sorts after it. */
export function idFloor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}
