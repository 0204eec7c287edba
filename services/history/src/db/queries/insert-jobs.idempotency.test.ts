import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, makeJob, setupDatabase, waitForLockWaiter } from "../../../test/fixtures.js";
import { IdempotencyKeyReservedError, insertJobs } from "./insert-jobs.js";

/** The row a key occupies in idempotency_keys: the key in the scope of its submitter, here plain "api". */
const claimKeyOf = (key: string): string => `api\n${key}`;

const DAY_MS = 86_400_000;
const opts = { idempotencyWindowMs: DAY_MS };

describe("insertJobs with idempotency keys", () => {
  let f: DbFixture;
  beforeAll(async () => {
    f = await setupDatabase();
  });
  afterAll(async () => {
    await f?.close();
  });

  const keyRow = async (key: string) =>
    (
      await f.pool.query<{ job_id: string; left_ms: number }>(
        "SELECT job_id, (extract(epoch FROM expires_at - now()) * 1000)::float8 AS left_ms FROM idempotency_keys WHERE key = $1",
        [claimKeyOf(key)],
      )
    ).rows[0];
  const jobIds = async (key: string) =>
    (await f.pool.query<{ id: string }>("SELECT id FROM jobs WHERE idempotency_key = $1 ORDER BY id", [key])).rows.map(
      (r) => r.id,
    );
  /** Ends a key's window now, as if IDEMPOTENCY_WINDOW_MS had passed. */
  const expire = (key: string) =>
    f.pool.query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1", [claimKeyOf(key)]);

  it("stores one job and claims its key for the window", async () => {
    const a = makeJob({ idempotencyKey: "k-window" });
    const b = makeJob({ idempotencyKey: "k-window" });
    expect((await insertJobs(f.pool, [a], opts)).map((r) => r.id)).toEqual([a.id]);
    expect((await insertJobs(f.pool, [b], opts)).map((r) => r.id)).toEqual([a.id]);

    expect(await jobIds("k-window")).toEqual([a.id]);
    const row = await keyRow("k-window");
    expect(row?.job_id).toBe(a.id);
    expect(row?.left_ms).toBeGreaterThan(DAY_MS - 60_000);
    expect(row?.left_ms).toBeLessThanOrEqual(DAY_MS);
  });

  it("creates a new job for a key whose window has ended, and the key then names it", async () => {
    const a = makeJob({ idempotencyKey: "k-expired" });
    await insertJobs(f.pool, [a], opts);
    await expire("k-expired");
    const b = makeJob({ idempotencyKey: "k-expired", payload: { v: 2 } });
    const [row] = await insertJobs(f.pool, [b], opts);

    expect(row).toMatchObject({ id: b.id, payload: { v: 2 }, status: "pending", idempotency_key: "k-expired" });
    expect(await jobIds("k-expired")).toEqual([a.id, b.id]);
    expect((await keyRow("k-expired"))?.job_id).toBe(b.id);
    const c = makeJob({ idempotencyKey: "k-expired" });
    expect((await insertJobs(f.pool, [c], opts)).map((r) => r.id)).toEqual([b.id]);
  });

  it("uses the window it is given", async () => {
    const a = makeJob({ idempotencyKey: "k-short" });
    await insertJobs(f.pool, [a], { idempotencyWindowMs: 5_000 });
    const left = (await keyRow("k-short"))?.left_ms ?? 0;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(5_000);
  });

  it("answers a retried batch with its own jobs after the key's window ended", async () => {
    const a = makeJob({ idempotencyKey: "k-retry" });
    await insertJobs(f.pool, [a], opts);
    await expire("k-retry");
    const [row] = await insertJobs(f.pool, [a], opts);
    expect(row?.id).toBe(a.id);
    expect(await jobIds("k-retry")).toEqual([a.id]);
    const events = await f.pool.query("SELECT seq FROM job_events WHERE job_id = $1", [a.id]);
    expect(events.rowCount).toBe(1);
  });

  it("treats keys as plain values, wildcards and quotes included", async () => {
    const keys = ["%", "_", "\\", "'; DROP TABLE jobs; --"];
    const first = keys.map((k) => makeJob({ idempotencyKey: k }));
    const rows = await insertJobs(f.pool, first, opts);
    expect(rows.map((r) => r.id)).toEqual(first.map((j) => j.id));
    const again = await insertJobs(f.pool, keys.map((k) => makeJob({ idempotencyKey: k })), opts);
    expect(again.map((r) => r.id)).toEqual(first.map((j) => j.id));
    expect(await jobIds("%")).toEqual([first[0]!.id]);
  });

  it("gives a submit that lost a race for an expired key the job that took it over", async () => {
    const old = makeJob({ idempotencyKey: "k-takeover" });
    await insertJobs(f.pool, [old], opts);
    await expire("k-takeover");
    const winner = makeJob({ idempotencyKey: "k-takeover" });
    const loser = makeJob({ idempotencyKey: "k-takeover" });
    const holder = await f.pool.connect();
    try {
      await holder.query("BEGIN");
      await insertJobs(holder, [winner], opts);
      // The loser's snapshot still shows the expired key naming `old`; it must not answer that.
      const racing = insertJobs(f.pool, [loser], opts);
      await waitForLockWaiter(f.pool);
      await holder.query("COMMIT");
      expect((await racing).map((r) => r.id)).toEqual([winner.id]);
    } finally {
      holder.release();
    }
    expect(await jobIds("k-takeover")).toEqual([old.id, winner.id]);
  });

  it("reports a key still reserved for a job that was deleted", async () => {
    const a = makeJob({ idempotencyKey: "k-deleted" });
    await insertJobs(f.pool, [a], opts);
    await f.pool.query("DELETE FROM jobs WHERE id = $1", [a.id]);
    const b = makeJob({ idempotencyKey: "k-deleted" });
    const err: unknown = await insertJobs(f.pool, [b], opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdempotencyKeyReservedError);
    expect(err).toMatchObject({ key: "k-deleted", jobId: a.id });
    expect(await jobIds("k-deleted")).toEqual([]);
  });
});
