import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { type DbFixture, setupDatabase, uuidAt } from "../../../test/fixtures.js";
import type { JobStatusText } from "../rows.js";
import { FIRST_JOB_ID, LIST_UNFINISHED_JOBS_SQL, listUnfinishedJobs } from "./list-unfinished-jobs.js";

const STATUSES: JobStatusText[] = ["pending", "processing", "completed", "failed", "cancelled"];
const BASE_MS = Date.now() - 3 * 86_400_000;
const CUTOFF = new Date(BASE_MS + 2 * 86_400_000);

/** Inserts bare rows straight into `jobs` (this file tests reads, not InsertJobs). */
async function insertRows(pool: pg.Pool, rows: readonly { id: string; status: JobStatusText }[]): Promise<void> {
  await pool.query(
    `INSERT INTO jobs (id, type, queue, payload, status, created_at, updated_at, scheduled_at)
     SELECT id, 'email.send', 'default', '{}', status, taskflow_uuid_time(id), now(), now()
     FROM unnest($1::uuid[], $2::text[]) AS t(id, status)`,
    [rows.map((r) => r.id), rows.map((r) => r.status)],
  );
}

describe("listUnfinishedJobs", () => {
  let f: DbFixture;
  /** Unfinished jobs created before the cutoff, in id order: what a full walk returns. */
  let expected: string[];

  beforeAll(async () => {
    f = await setupDatabase();
    // Jobs over three days (three partitions), inserted out of order; the last five after the cutoff.
    const rows = Array.from({ length: 40 }, (_, i) => ({
      id: uuidAt(i >= 35 ? CUTOFF.getTime() + 1_000 + i : BASE_MS + ((i * 7919) % 35) * 3_600_000 + i),
      status: STATUSES[i % 5] as JobStatusText,
    }));
    await insertRows(f.pool, rows);
    expected = rows
      .filter((r, i) => (r.status === "pending" || r.status === "processing") && i < 35)
      .map((r) => r.id)
      .sort();
  });
  afterAll(async () => {
    await f?.close();
  });

  it.each([1, 2, 5, 100])("walks every unfinished job created before the moment once, in id order, by %i", async (limit) => {
    const seen: string[] = [];
    let afterId = FIRST_JOB_ID;
    for (;;) {
      const rows = await listUnfinishedJobs(f.pool, { createdBefore: CUTOFF, afterId, limit });
      seen.push(...rows.map((r) => r.id));
      if (rows.length < limit) break;
      afterId = rows.at(-1)!.id;
    }
    expect(expected.length).toBeGreaterThan(10);
    expect(seen).toEqual(expected);
  });

  it("starts after the cursor and returns rows with last_seq", async () => {
    const rows = await listUnfinishedJobs(f.pool, { createdBefore: CUTOFF, afterId: expected[3]!, limit: 2 });
    expect(rows.map((r) => r.id)).toEqual(expected.slice(4, 6));
    expect(rows[0]).toMatchObject({ last_seq: 1 });
  });

  it("is served by the partial index of each partition in id order, without a sort", async () => {
    const client = await f.pool.connect();
    try {
      await client.query("BEGIN");
      // The table is tiny; forbid the sequential scan to see whether the index can serve the query.
      await client.query("SET LOCAL enable_seqscan = off");
      const { rows } = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${LIST_UNFINISHED_JOBS_SQL}`, [
        FIRST_JOB_ID, CUTOFF.toISOString(), 10,
      ]);
      const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
      // Each day partition's copy of idx_jobs_unfinished_id is walked in order and the copies
      // are appended in partition (id) order; no Sort node appears.
      expect(plan).toMatch(/Index (Only )?Scan using jobs_(p\d{8}|default)_id_idx/);
      expect(plan).not.toMatch(/->\s+Sort\b|^Sort\b/m);
      await client.query("ROLLBACK");
    } finally {
      client.release();
    }
  });
});
