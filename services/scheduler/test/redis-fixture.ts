import { Redis } from "ioredis";
import { deleteKeysWithPrefix, randomKeyPrefix, testRedisUrl } from "@taskflow/testkit";
import { v7 as uuidv7 } from "uuid";
import { queueKeys, type QueueKeys } from "../src/redis/keys.js";
import { QueueStore, type EnqueueJob, type LeaseAsk, type QueueStoreOptions } from "../src/redis/queue-store.js";

/** A QueueStore on real Redis under a key prefix of its own; `close()` deletes every key it made. */
export interface RedisFixture {
  redis: Redis;
  prefix: string;
  store: QueueStore;
  keys(queue: string): QueueKeys;
  close(): Promise<void>;
}

export const TEST_LEASE_MS = 30_000;

/** A fixture on `redisUrl` (default the shared test server; a private one for server-wide commands). */
export async function createRedisFixture(overrides: Partial<QueueStoreOptions> = {}, redisUrl = testRedisUrl()): Promise<RedisFixture> {
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  const prefix = randomKeyPrefix();
  const store = new QueueStore({
    redis,
    keyPrefix: prefix,
    leaseMs: TEST_LEASE_MS,
    retryBaseMs: 1_000,
    retryMaxMs: 60_000,
    // Every script call proves it touches only the keys it declares, as Redis Cluster needs.
    checkScriptKeys: true,
    ...overrides,
  });
  return {
    redis,
    prefix,
    store,
    keys: (queue) => queueKeys(prefix, queue),
    close: async () => {
      await deleteKeysWithPrefix(redisUrl, `${prefix}:`);
      await redis.quit();
    },
  };
}

/** A job ready to enqueue now, with a fresh UUIDv7 id. */
export function makeJob(overrides: Partial<EnqueueJob> = {}): EnqueueJob {
  return {
    id: uuidv7(),
    type: "test.echo",
    payloadJson: JSON.stringify({ n: 1 }),
    priority: 0,
    maxAttempts: 3,
    timeoutMs: 60_000,
    delayMs: 0,
    runAtMs: 0,
    createdMs: Date.now(),
    ...overrides,
  };
}

/** Every outbox entry of `queue`, oldest first, as field records. */
export async function outboxEntries(f: RedisFixture, queue: string): Promise<Record<string, string>[]> {
  const entries = await f.redis.xrange(f.keys(queue).outbox, "-", "+");
  return entries.map(([, fields]) => {
    const record: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
    return record;
  });
}

/** The job's hash as stored. */
export const jobHash = (f: RedisFixture, queue: string, id: string): Promise<Record<string, string>> =>
  f.redis.hgetall(f.keys(queue).jobPrefix + id);

/**
 * Moves a job's entry in a time-scored zset (delayed or leased) into the
 * past, as if its time had come, instead of sleeping until it does.
 */
export async function backdate(f: RedisFixture, zset: string, id: string): Promise<void> {
  await f.redis.zadd(zset, "XX", 1, id);
}

/** Redis's clock, ms since the Unix epoch (the scripts' only clock). */
export async function redisNow(redis: Redis): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/** What a test leases: up to `max` jobs of any type, within the default byte budget. */
export const ask = (max: number): LeaseAsk => ({ max, types: [], requestId: "", maxBytes: 4 * 1_048_576, actor: "worker:w1" });
