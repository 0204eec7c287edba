import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { mastersOf, type RedisClient } from "./redis-client.js";

/** The only maxmemory-policy under which Redis never drops a key to make room. */
export const SAFE_POLICY = "noeviction";

/** Thrown at start-up when Redis may evict keys and that was not allowed. */
export class EvictionPolicyError extends Error {
  constructor(readonly policy: string) {
    super(
      `Redis maxmemory-policy is "${policy}": Redis may evict queue keys when memory runs out, ` +
        `losing acknowledged jobs. Run Redis with maxmemory-policy ${SAFE_POLICY} ` +
        "(CONFIG SET maxmemory-policy noeviction, or in redis.conf), or set REDIS_ALLOW_EVICTION=true to start anyway.",
    );
    this.name = "EvictionPolicyError";
  }
}

/**
 * Checks Redis's `maxmemory-policy` with `CONFIG GET`, on every master of a cluster. Any policy
 * but noeviction refuses to start unless `allowEviction`, which turns it into a warning on
 * every start. A Redis that does not allow CONFIG (managed services often rename or forbid it)
 * cannot be checked: that is a warning too.
 * @throws EvictionPolicyError when Redis may evict keys and `allowEviction` is false; the
 *   connection's error when Redis cannot be reached.
 */
export async function checkEvictionPolicy(redis: RedisClient, opts: { allowEviction: boolean; logger: Logger }): Promise<void> {
  for (const server of mastersOf(redis)) await checkServer(server, opts);
}

async function checkServer(redis: Redis, opts: { allowEviction: boolean; logger: Logger }): Promise<void> {
  let policy: string | undefined;
  try {
    policy = policyOf(await redis.call("CONFIG", "GET", "maxmemory-policy"));
  } catch (err) {
    if (!(err instanceof Error && err.name === "ReplyError")) throw err;
    opts.logger.warn({ err }, "redis eviction policy not checked: CONFIG GET refused");
    return;
  }
  if (policy === SAFE_POLICY) return;
  if (policy === undefined) {
    opts.logger.warn("redis eviction policy not checked: CONFIG GET answered nothing");
    return;
  }
  if (!opts.allowEviction) throw new EvictionPolicyError(policy);
  opts.logger.warn({ policy }, "REDIS MAY EVICT KEYS: acknowledged jobs can be lost (REDIS_ALLOW_EVICTION=true)");
}

/** The value of a one-parameter CONFIG GET reply: `[name, value]` (RESP2) or a map (RESP3). */
function policyOf(reply: unknown): string | undefined {
  if (Array.isArray(reply)) return typeof reply[1] === "string" ? reply[1] : undefined;
  if (reply instanceof Map) return reply.get("maxmemory-policy") as string | undefined;
  if (reply !== null && typeof reply === "object") return (reply as Record<string, string>)["maxmemory-policy"];
  return undefined;
}
