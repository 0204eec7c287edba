import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import pg from "pg";

/** PostgreSQL server tests create their databases on (an admin connection string). */
export const testDatabaseAdminUrl = (): string =>
  process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** Redis server tests use; each test isolates itself with its own key prefix. */
export const testRedisUrl = (): string => process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A key prefix no other test uses, e.g. `tft-1a2b3c4d`. */
export const randomKeyPrefix = (): string => `tft-${randomBytes(4).toString("hex")}`;

/** A queue name no other test uses, e.g. `q-1a2b3c4d`, so tests can share one stack. */
export const uniqueQueue = (): string => `q-${randomBytes(4).toString("hex")}`;

export interface TestDatabase {
  /** Connection string of the new, empty database. */
  url: string;
  name: string;
  /** Drops the database, closing whatever connections are left. */
  drop(): Promise<void>;
}

/**
 * Creates an empty database of its own for one test file.
 *
 * @param adminUrl server to create it on (default {@link testDatabaseAdminUrl}); a fault test
 *   passes a private server it may stop.
 */
export async function createTestDatabase(adminUrl = testDatabaseAdminUrl()): Promise<TestDatabase> {
  const name = `tf_test_${randomBytes(6).toString("hex")}`;
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

async function withAdmin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Deletes every Redis key that starts with `prefix` (a test's own keys) from one server: for a
 * cluster, call it on every master. One UNLINK per key, pipelined: a cluster node refuses one
 * UNLINK of keys in different slots.
 */
export async function deleteKeysWithPrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 })) {
      const pipeline = redis.pipeline();
      for (const key of keys as string[]) pipeline.unlink(key);
      await pipeline.exec();
    }
  } finally {
    redis.disconnect();
  }
}
