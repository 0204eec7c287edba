import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, makeJob, setupDatabase, waitForLockWaiter } from "../../../test/fixtures.js";
import { endPool } from "../pool.js";
import type { Queryable } from "../queryable.js";
import { IdempotencyKeyConflictError, insertJobs, type NewJob } from "./insert-jobs.js";

/** The row a key occupies in idempotency_keys: the key in the scope of its submitter, here plain "api". */
const claimKeyOf = (key: string): string => `api\n${key}`;

const opts = { idempotencyWindowMs: 86_400_000 };

describe("insertJobs comparing request digests of idempotency keys", () => {
  let f: DbFixture;
  beforeAll(async () => {
    f = await setupDatabase();
  });
  afterAll(async () => {
    await f?.close();
  });

  const keyRow = async (key: string) =>
    (
      await f.pool.query<{ job_id: string; request_digest: string | null }>(
        "SELECT job_id, request_digest FROM idempotency_keys WHERE key = $1",
        [claimKeyOf(key)],
      )
    ).rows[0];
  const stored = async (jobs: NewJob[]) =>
    (await f.pool.query<{ id: string }>("SELECT id FROM jobs WHERE id = ANY($1) ORDER BY id", [jobs.map((j) => j.id)])).rows.map(
      (r) => r.id,
    );
  /** The ids answered, or the error thrown. */
  const outcome = (jobs: NewJob[], db: Queryable = f.pool): Promise<unknown> =>
    insertJobs(db, jobs, opts).then(
      (rows) => rows.map((r) => r.id),
      (err: unknown) => err,
    );
  const expire = (key: string) =>
    f.pool.query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1", [claimKeyOf(key)]);

  it("stores the digest of the request that claimed a key", async () => {
    const a = makeJob({ idempotencyKey: "d-stored", requestDigest: "sha256:aaa" });
    await insertJobs(f.pool, [a], opts);
    expect(await keyRow("d-stored")).toEqual({ job_id: a.id, request_digest: "sha256:aaa" });
  });

  it("answers the holder's job to a request with the same digest", async () => {
    const a = makeJob({ idempotencyKey: "d-same", requestDigest: "sha256:same" });
    await insertJobs(f.pool, [a], opts);
    const b = makeJob({ idempotencyKey: "d-same", requestDigest: "sha256:same" });
    expect((await insertJobs(f.pool, [b], opts)).map((r) => r.id)).toEqual([a.id]);
    expect(await stored([b])).toEqual([]);
  });

  it("refuses the whole batch when a job names a live key claimed with another digest, storing nothing", async () => {
    const holder = makeJob({ idempotencyKey: "d-other", requestDigest: "sha256:one" });
    await insertJobs(f.pool, [holder], opts);
    const batch = [
      makeJob(),
      makeJob({ idempotencyKey: "d-free", requestDigest: "sha256:free" }),
      makeJob({ idempotencyKey: "d-other", requestDigest: "sha256:two", type: "report.build" }),
    ];
    const err = await outcome(batch);
    expect(err).toBeInstanceOf(IdempotencyKeyConflictError);
    expect(err).toMatchObject({ index: 2, key: "d-other" });
    expect(await stored(batch)).toEqual([]);
    expect(await keyRow("d-free")).toBeUndefined();
    expect(await keyRow("d-other")).toEqual({ job_id: holder.id, request_digest: "sha256:one" });
  });

  it("matches any request when either side has no digest", async () => {
    const old = makeJob({ idempotencyKey: "d-null-holder", requestDigest: null });
    await insertJobs(f.pool, [old], opts);
    const withDigest = makeJob({ idempotencyKey: "d-null-holder", requestDigest: "sha256:x" });
    expect((await insertJobs(f.pool, [withDigest], opts)).map((r) => r.id)).toEqual([old.id]);

    const a = makeJob({ idempotencyKey: "d-null-request", requestDigest: "sha256:y" });
    await insertJobs(f.pool, [a], opts);
    const noDigest = makeJob({ idempotencyKey: "d-null-request", requestDigest: null });
    expect((await insertJobs(f.pool, [noDigest], opts)).map((r) => r.id)).toEqual([a.id]);
  });

  it("compares a key named twice in one batch with the first job that names it", async () => {
    const a = makeJob({ idempotencyKey: "d-batch", requestDigest: "sha256:1" });
    const same = makeJob({ idempotencyKey: "d-batch", requestDigest: "sha256:1" });
    expect((await insertJobs(f.pool, [a, same], opts)).map((r) => r.id)).toEqual([a.id, a.id]);

    const b = makeJob({ idempotencyKey: "d-batch-2", requestDigest: "sha256:1" });
    const other = makeJob({ idempotencyKey: "d-batch-2", requestDigest: "sha256:2" });
    expect(await outcome([b, other])).toMatchObject({ name: "IdempotencyKeyConflictError", index: 1, key: "d-batch-2" });
    expect(await stored([b, other])).toEqual([]);
  });

  it("lets a request with another digest take over a key whose window has ended", async () => {
    const a = makeJob({ idempotencyKey: "d-expired", requestDigest: "sha256:old" });
    await insertJobs(f.pool, [a], opts);
    await expire("d-expired");
    const b = makeJob({ idempotencyKey: "d-expired", requestDigest: "sha256:new" });
    expect((await insertJobs(f.pool, [b], opts)).map((r) => r.id)).toEqual([b.id]);
    expect(await keyRow("d-expired")).toEqual({ job_id: b.id, request_digest: "sha256:new" });
  });

  it("answers a retried batch with its own jobs", async () => {
    const batch = [makeJob({ idempotencyKey: "d-retry", requestDigest: "sha256:r" }), makeJob()];
    const first = await insertJobs(f.pool, batch, opts);
    expect(await insertJobs(f.pool, batch, opts)).toEqual(first);
  });

  it.each([
    ["a new key", false],
    ["an expired key", true],
  ])("refuses, storing nothing, a batch that lost a race for %s to a request with another digest", async (_, expired) => {
    const key = `d-race-${String(expired)}`;
    if (expired) {
      await insertJobs(f.pool, [makeJob({ idempotencyKey: key, requestDigest: "sha256:gone" })], opts);
      await expire(key);
    }
    const winner = makeJob({ idempotencyKey: key, requestDigest: "sha256:winner" });
    const loser = [makeJob(), makeJob({ idempotencyKey: key, requestDigest: "sha256:loser" })];
    const holder = await f.pool.connect();
    try {
      await holder.query("BEGIN");
      await insertJobs(holder, [winner], opts);
      // The loser's statement takes its snapshot, then waits on the winner's uncommitted key.
      const racing = outcome(loser);
      await waitForLockWaiter(f.pool);
      await holder.query("COMMIT");
      expect(await racing).toMatchObject({ name: "IdempotencyKeyConflictError", index: 1, key });
    } finally {
      holder.release();
    }
    expect(await stored(loser)).toEqual([]);
    expect(await keyRow(key)).toEqual({ job_id: winner.id, request_digest: "sha256:winner" });
  });

  it("answers the winner's job to a batch that lost a race for a key to a request with the same digest", async () => {
    const winner = makeJob({ idempotencyKey: "d-race-same", requestDigest: "sha256:s" });
    const loser = [makeJob(), makeJob({ idempotencyKey: "d-race-same", requestDigest: "sha256:s" })];
    const holder = await f.pool.connect();
    try {
      await holder.query("BEGIN");
      await insertJobs(holder, [winner], opts);
      const racing = insertJobs(f.pool, loser, opts);
      await waitForLockWaiter(f.pool);
      await holder.query("COMMIT");
      expect((await racing).map((r) => r.id)).toEqual([loser[0]!.id, winner.id]);
    } finally {
      holder.release();
    }
    expect(await stored(loser)).toEqual([loser[0]!.id]);
  });

  it("settles many batches racing on one new key: one request wins, its twins get its job, the other is refused whole", async () => {
    const batches = Array.from({ length: 12 }, (_, i) => [
      makeJob(),
      makeJob({ idempotencyKey: "d-stampede", requestDigest: i % 2 === 0 ? "sha256:even" : "sha256:odd" }),
    ]);
    const pool = new pg.Pool({ connectionString: f.db.url, max: batches.length });
    try {
      const outcomes = await Promise.all(batches.map((b) => outcome(b, pool)));
      const key = await keyRow("d-stampede");
      const winner = batches.findIndex((b) => b[1]!.id === key?.job_id);
      const twins = (i: number) => i % 2 === winner % 2;
      batches.forEach((b, i) => {
        if (twins(i)) expect(outcomes[i]).toEqual([b[0]!.id, key?.job_id]);
        else expect(outcomes[i]).toMatchObject({ name: "IdempotencyKeyConflictError", index: 1 });
      });
      expect(await stored(batches.flat())).toEqual(
        batches.filter((_, i) => twins(i)).map((b) => b[0]!.id).concat(key!.job_id).sort(),
      );
    } finally {
      await endPool(pool);
    }
  });
});
