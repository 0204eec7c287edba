import { eventually } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, quietLogger, setupDatabase } from "../../test/fixtures.js";
import { PurgeIdempotencyKeys } from "./purge-idempotency-keys.js";

describe("PurgeIdempotencyKeys", () => {
  let f: DbFixture;
  beforeAll(async () => {
    f = await setupDatabase();
  });
  afterAll(async () => {
    await f?.close();
  });

  /** Adds `n` keys named `<prefix>-<i>` expiring `offset` from now. */
  const addKeys = (prefix: string, n: number, offset: string) =>
    f.pool.query(
      `INSERT INTO idempotency_keys (key, job_id, expires_at)
       SELECT $1 || '-' || i, gen_random_uuid(), now() + $2::interval FROM generate_series(1, $3) AS i`,
      [prefix, offset, n],
    );
  const keys = async () =>
    (await f.pool.query<{ key: string }>("SELECT key FROM idempotency_keys ORDER BY key")).rows.map((r) => r.key);

  it("deletes every expired key in bounded batches and keeps every live one", async () => {
    await addKeys("expired", 7, "-1 second");
    await addKeys("live", 3, "1 hour");
    const loop = new PurgeIdempotencyKeys({ pool: f.pool, intervalMs: 60_000, logger: quietLogger, batchSize: 2 });

    expect(await loop.runOnce()).toBe(7);
    expect(await keys()).toEqual(["live-1", "live-2", "live-3"]);
    expect(await loop.runOnce()).toBe(0);
  });

  it("runs when started and stops cleanly", async () => {
    await addKeys("started", 2, "-1 minute");
    const loop = new PurgeIdempotencyKeys({ pool: f.pool, intervalMs: 10, logger: quietLogger });
    loop.start();
    try {
      await eventually(async () => ((await keys()).some((k) => k.startsWith("started")) ? undefined : true));
    } finally {
      await loop.stop();
    }
    expect((await keys()).filter((k) => k.startsWith("started"))).toEqual([]);
  });
});
