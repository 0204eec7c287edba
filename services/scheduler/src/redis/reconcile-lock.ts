import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { fromRedisError } from "../errors.js";
import { reconcileLockKey } from "./keys.js";
import type { RedisClient } from "./redis-client.js";
import { defineScripts, type ScriptOptions, type Scripts } from "./scripts.js";

/**
 * How long the lock lives without renewal, in ms: a crashed holder blocks reconciliation this
 * long at most. The holder renews it every third of this while it runs.
 */
export const RECONCILE_LOCK_TTL_MS = 10_000;
/** Pause between tries while waiting for another holder, in ms. */
const ACQUIRE_POLL_MS = 100;

/** A lock this process holds. */
export interface HeldLock {
  /** Aborts when the lock was lost (a renewal failed or found another holder): stop working. */
  readonly signal: AbortSignal;
  /** Stops renewing and frees the lock if it is still this holder's. Never throws. */
  release(): Promise<void>;
}

/**
 * The reconciliation lock of one deployment: `SET NX PX` with a random token, renewed at a
 * third of its lifetime while held, released by compare-and-delete, so only one replica
 * reconciles at a time and a holder whose lock expired never frees (or renews) the next
 * holder's. Reconciliation's writes are idempotent anyway; the lock keeps replicas from doing
 * the same work twice and makes a report describe one run.
 */
export class ReconcileLock {
  private readonly scripts: Scripts;
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
    private readonly ttlMs = RECONCILE_LOCK_TTL_MS,
    opts: ScriptOptions = {},
  ) {
    this.scripts = defineScripts(redis, opts);
    this.key = reconcileLockKey(keyPrefix);
  }

  /**
   * Takes the lock, waiting up to `waitMs` while another replica holds it.
   * @returns undefined when it is still held by another replica after `waitMs`.
   * @throws unavailable when Redis cannot be reached.
   */
  async acquire(waitMs = 0): Promise<HeldLock | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const held = await this.tryAcquire();
      if (held !== undefined || Date.now() + ACQUIRE_POLL_MS > deadline) return held;
      await new Promise((resolve) => setTimeout(resolve, ACQUIRE_POLL_MS));
    }
  }

  private async tryAcquire(): Promise<HeldLock | undefined> {
    const token = randomBytes(16).toString("base64url");
    let reply: string | null;
    try {
      reply = await this.redis.set(this.key, token, "PX", this.ttlMs, "NX");
    } catch (err) {
      throw fromRedisError(err);
    }
    if (reply !== "OK") return undefined;
    const lost = new AbortController();
    const renew = (): void => {
      this.scripts["renew-lock"]([this.key], [token, this.ttlMs]).then(
        (still) => {
          if (still !== 1) lost.abort(new ConnectError("reconcile lock lost; retry", Code.Unavailable));
        },
        (err: unknown) => lost.abort(fromRedisError(err)),
      );
    };
    const timer = setInterval(renew, Math.max(1, Math.floor(this.ttlMs / 3)));
    timer.unref();
    return {
      signal: lost.signal,
      release: async () => {
        clearInterval(timer);
        await this.scripts["release-lock"]([this.key], [token]).catch(() => undefined);
      },
    };
  }
}
