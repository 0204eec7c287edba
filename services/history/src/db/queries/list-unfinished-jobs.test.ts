import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { type DbFixture, setupDatabase, uuidv7 } from "../../../test/fixtures.js";
import type { JobStatusText } from "../rows.js";
import {
  FIRST_UNFINISHED_CURSOR,
  LIST_UNFINISHED_JOBS_SQL,
  listUnfinishedJobs,
  type UnfinishedCursor,
} from "./list-unfinished-jobs.js";

const STATUSES: JobStatusText[] = ["pending", "processing", "completed", "failed", "cancelled"];
const BASE_MS = Date.UTC(2031, 0, 1);
const CUTOFF = new Date(BASE_MS + 10_000);

interface Fixture {
  id: string;
  status: JobStatusText;
  /** updated_at, as an offset in microseconds from BASE_MS. */
  us: number;
}

/** Inserts bare pending rows straight into `jobs` (this file tests reads, not InsertJobs). */
async function insertRows(pool: pg.Pool, ids: readonly string[]): Promise<void> {
  await pool.query(
    `INSERT INTO jobs (id, type, queue, payload, status, created_at, updated_at, scheduled_at)
     SELECT id, 'email.send', 'default', '{}', 'pending', now(), now(), now() FROM unnest($1::uuid[]) AS t(id)`,
    [ids],
  );
}

describe("listUnfinishedJobs", () => {
  let f: DbFixture;
  /** Unfinished jobs changed before the cutoff, oldest change first: what a full walk returns. */
  let expected: string[];
  const usById = new Map<string, number>();

  beforeAll(async () => {
    f = await setupDatabase();
    const jobs = Array.from({ length: 30 }, () => ({ id: uuidv7() }));
    await insertRows(f.pool, jobs.map((j) => j.id));
    // Several rows share one millisecond and differ by microseconds; two share the exact
    // microsecond, so the id breaks the tie; the last five changed after the cutoff.
    const fixtures: Fixture[] = jobs.map((j, i) => ({
      id: j.id,
      status: STATUSES[i % 5] as JobStatusText,
      us: i >= 25 ? 20_000_000 + i : i === 6 ? 3 * 1_000 + 1 : Math.floor(i / 3) * 1_000 + (i % 3),
    }));
    await f.pool.query(
      `UPDATE jobs SET status = s.status, updated_at = to_timestamp($3::bigint / 1000.0) + s.us * interval '1 microsecond'
       FROM unnest($1::uuid[], $2::text[], $4::bigint[]) AS s(id, status, us) WHERE jobs.id = s.id`,
      [fixtures.map((x) => x.id), fixtures.map((x) => x.status), BASE_MS, fixtures.map((x) => x.us)],
    );
    for (const x of fixtures) usById.set(x.id, x.us);
    expected = fixtures
      .filter((x) => (x.status === "pending" || x.status === "processing") && x.us < 10_000_000)
      .sort((a, b) => a.us - b.us || (a.id < b.id ? -1 : 1))
      .map((x) => x.id);
  });
  afterAll(async () => {
    await f?.close();
  });

  it.each([1, 2, 5, 100])("walks every unfinished job changed before the cutoff once, oldest first, by %i", async (limit) => {
    const seen: string[] = [];
    let after: UnfinishedCursor = FIRST_UNFINISHED_CURSOR;
    for (;;) {
      const rows = await listUnfinishedJobs(f.pool, { updatedBefore: CUTOFF, after, limit });
      seen.push(...rows.map((r) => r.id));
      if (rows.length < limit) break;
      const last = rows.at(-1)!;
      after = { updatedUs: last.updated_us, id: last.id };
    }
    expect(expected.length).toBeGreaterThan(5);
    expect(seen).toEqual(expected);
  });

  it("returns rows with last_seq and the cursor in whole microseconds", async () => {
    const [row] = await listUnfinishedJobs(f.pool, { updatedBefore: CUTOFF, after: FIRST_UNFINISHED_CURSOR, limit: 1 });
    expect(row).toMatchObject({ id: expected[0], last_seq: 1 });
    expect(row!.updated_us).toBe(String(BASE_MS * 1_000 + usById.get(row!.id)!));
  });

  it("is served by the partial index of each partition in its order, without a sort", async () => {
    const client = await f.pool.connect();
    try {
      await client.query("BEGIN");
      // The table is tiny; forbid the sequential scan to see whether the index can serve the query.
      await client.query("SET LOCAL enable_seqscan = off");
      const { rows } = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${LIST_UNFINISHED_JOBS_SQL}`, [
        CUTOFF.toISOString(), "0", FIRST_UNFINISHED_CURSOR.id, 10,
      ]);
      const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
      // Each day partition's copy of idx_jobs_unfinished_updated is walked in order and the
      // copies are merged; no Sort node appears.
      expect(plan).toMatch(/Index Scan using jobs_p\d{8}_updated_at_id_idx/);
      expect(plan).not.toMatch(/->\s+Sort\b|^Sort\b/m);
      await client.query("ROLLBACK");
    } finally {
      client.release();
    }
  });
});
