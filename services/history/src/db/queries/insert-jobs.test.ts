import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, makeJob, setupDatabase, waitForLockWaiter } from "../../../test/fixtures.js";
import type { Queryable } from "../queryable.js";
import { INSERT_MAX_ATTEMPTS, InsertRetriesExhaustedError, insertJobs } from "./insert-jobs.js";

const opts = { idempotencyWindowMs: 86_400_000 };

describe("insertJobs", () => {
  let f: DbFixture;
  beforeAll(async () => {
    f = await setupDatabase();
  });
  afterAll(async () => {
    await f?.close();
  });

  const eventsOf = async (jobId: string) =>
    (await f.pool.query("SELECT * FROM job_events WHERE job_id = $1 ORDER BY seq", [jobId])).rows;
  const countJobs = async (ids: string[]) =>
    Number((await f.pool.query("SELECT count(*) FROM jobs WHERE id = ANY($1)", [ids])).rows[0].count);

  it("stores every field as pending with a 'submitted' event", async () => {
    const job = makeJob({
      type: "report.build",
      queue: "reports",
      payload: { user: { id: 7, tags: ["a", "b"] }, flag: true, none: null, text: "é\"'\\" },
      maxAttempts: 5,
      priority: 900,
      timeoutMs: 45_000,
      idempotencyKey: "key-round-trip",
      scheduledAt: new Date("2031-02-03T04:05:06.789Z"),
    });
    const before = Date.now();
    const [row] = await insertJobs(f.pool, [job], opts);

    expect(row).toMatchObject({
      id: job.id,
      type: "report.build",
      queue: "reports",
      payload: job.payload,
      status: "pending",
      result: null,
      error: null,
      attempts: 0,
      max_attempts: 5,
      priority: 900,
      timeout_ms: 45_000,
      idempotency_key: "key-round-trip",
      last_seq: 1,
      scheduled_at: job.scheduledAt,
      started_at: null,
      completed_at: null,
      worker_id: null,
    });
    // created_at is the UUIDv7 id's timestamp: when the scheduler accepted the job.
    expect(row?.created_at.getTime()).toBe(Number.parseInt(job.id.replaceAll("-", "").slice(0, 12), 16));
    expect(row?.created_at.getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect(row!.updated_at.getTime()).toBeGreaterThanOrEqual(row!.created_at.getTime());

    const events = await eventsOf(job.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      seq: 1,
      type: "submitted",
      status: "pending",
      attempt: 0,
      actor: "api",
      occurred_at: row?.created_at,
    });
  });

  it("returns the stored rows in request order", async () => {
    const jobs = [makeJob(), makeJob(), makeJob()];
    const reversed = [...jobs].reverse();
    const rows = await insertJobs(f.pool, reversed, opts);
    expect(rows.map((r) => r.id)).toEqual(reversed.map((j) => j.id));
  });

  it("changes nothing when the same batch is inserted twice", async () => {
    const jobs = [makeJob(), makeJob({ idempotencyKey: "key-twice" })];
    const first = await insertJobs(f.pool, jobs, opts);
    const second = await insertJobs(f.pool, jobs, opts);
    expect(second).toEqual(first);
    expect(await countJobs(jobs.map((j) => j.id))).toBe(2);
    for (const job of jobs) expect(await eventsOf(job.id)).toHaveLength(1);
  });

  it("returns the original job when an idempotency key is reused", async () => {
    const original = makeJob({ idempotencyKey: "key-reused", payload: { v: 1 } });
    await insertJobs(f.pool, [original], opts);
    const repeat = makeJob({ idempotencyKey: "key-reused", payload: { v: 2 } });
    const fresh = makeJob();
    const rows = await insertJobs(f.pool, [repeat, fresh], opts);

    expect(rows.map((r) => r.id)).toEqual([original.id, fresh.id]);
    expect(rows[0]?.payload).toEqual({ v: 1 });
    expect(await countJobs([repeat.id])).toBe(0);
    expect(await eventsOf(repeat.id)).toHaveLength(0);
  });

  it("resolves a key repeated within one batch to the first job", async () => {
    const a = makeJob({ idempotencyKey: "key-in-batch" });
    const b = makeJob({ idempotencyKey: "key-in-batch" });
    const rows = await insertJobs(f.pool, [a, b], opts);
    expect(rows.map((r) => r.id)).toEqual([a.id, a.id]);
    expect(await countJobs([a.id, b.id])).toBe(1);
  });

  it("gives a batch that lost a race for a key the winner, committed after its snapshot", async () => {
    const a = makeJob({ idempotencyKey: "key-race" });
    const b = makeJob({ idempotencyKey: "key-race" });
    const holder = await f.pool.connect();
    try {
      await holder.query("BEGIN");
      await insertJobs(holder, [a], opts);
      // b's insert takes its snapshot, then waits on a's uncommitted key.
      const racing = insertJobs(f.pool, [b], opts);
      await waitForLockWaiter(f.pool);
      await holder.query("COMMIT");
      const [row] = await racing;
      expect(row?.id).toBe(a.id);
    } finally {
      holder.release();
    }
    expect(await countJobs([a.id, b.id])).toBe(1);
  });

  it("inserts nothing for an empty batch", async () => {
    expect(await insertJobs(f.pool, [], opts)).toEqual([]);
  });

  it("gives up with InsertRetriesExhaustedError when a concurrent claim fails every attempt, storing nothing", async () => {
    // The error PostgreSQL raises when a key the statement did not see was claimed under it.
    const k = makeJob({ idempotencyKey: "key-always-claimed" });
    await insertJobs(f.pool, [k], opts);
    const claimed = await f.pool
      .query("INSERT INTO idempotency_keys (key, job_id, expires_at) VALUES ($1, $2, now())", [`api\n${k.idempotencyKey}`, k.id])
      .then(() => new Error("no unique violation"), (err: Error) => err);
    expect(claimed).toMatchObject({ code: "23505", constraint: "idempotency_keys_pkey" });
    let attempts = 0;
    const racing: Queryable = {
      query: (config) => {
        if (config.name !== "history_insert_jobs") return f.pool.query(config);
        attempts += 1;
        return Promise.reject(claimed);
      },
    };
    const job = makeJob({ idempotencyKey: "key-raced" });

    const err = await insertJobs(racing, [job], opts).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(InsertRetriesExhaustedError);
    expect((err as Error).cause).toBe(claimed);
    expect(attempts).toBe(INSERT_MAX_ATTEMPTS);
    expect(await countJobs([job.id])).toBe(0);
  });
});
