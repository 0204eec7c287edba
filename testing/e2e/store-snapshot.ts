import type { TestStack } from "@taskflow/testkit";
import { Redis } from "ioredis";
import pg from "pg";

/** History's tables, each with its row count and a digest of every row. */
const TABLES = ["jobs", "job_events", "workers", "idempotency_keys", "schedules"] as const;

/** What both stores of a stack hold: enough to tell that a request changed nothing. */
export interface StoreSnapshot {
  tables: Record<string, { rows: number; digest: string }>;
  /** Every Redis key under the stack's prefix, with its type and size. */
  redis: Record<string, string>;
}

/** Reads both stores of `stack` (PostgreSQL at `stack.db.url`, Redis keys under `stack.keyPrefix`). */
export async function snapshotStores(stack: TestStack, redisUrl: string): Promise<StoreSnapshot> {
  return { tables: await snapshotTables(stack.db.url), redis: await snapshotRedis(redisUrl, stack.keyPrefix) };
}

async function snapshotTables(url: string): Promise<StoreSnapshot["tables"]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out: StoreSnapshot["tables"] = {};
    for (const table of TABLES) {
      // Table names come from the constant above, never from input.
      const { rows } = await client.query<{ rows: number; digest: string }>(
        `SELECT count(*)::int AS rows, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest FROM ${table} t`,
      );
      out[table] = rows[0]!;
    }
    return out;
  } finally {
    await client.end();
  }
}

const RECONCILER_KEYS = [":reconcile", ":reconcile-lock"];

async function snapshotRedis(url: string, prefix: string): Promise<StoreSnapshot["redis"]> {
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  try {
    const out: StoreSnapshot["redis"] = {};
    for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 })) {
      for (const key of keys as string[]) {
        // The reconciler's own bookkeeping (its cursor and lock) moves with each run, whatever callers send.
        if (RECONCILER_KEYS.some((suffix) => key.endsWith(suffix))) continue;
        out[key] = await describeKey(redis, key);
      }
    }
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
  } finally {
    redis.disconnect();
  }
}

async function describeKey(redis: Redis, key: string): Promise<string> {
  const type = await redis.type(key);
  switch (type) {
    case "zset":
      return `zset ${JSON.stringify(await redis.zrange(key, "0", "-1", "WITHSCORES"))}`;
    case "hash":
      return `hash ${JSON.stringify(Object.entries(await redis.hgetall(key)).sort())}`;
    case "set":
      return `set ${JSON.stringify((await redis.smembers(key)).sort())}`;
    case "stream":
      return `stream ${await redis.xlen(key)}`;
    case "string":
      return `string ${await redis.get(key)}`;
    default:
      return type;
  }
}
