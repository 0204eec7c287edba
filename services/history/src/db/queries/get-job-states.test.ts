import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { type DbFixture, setupDatabase, uuidv7 } from "../../../test/fixtures.js";
import { getJobStates } from "./get-job-states.js";

/** Inserts bare pending rows straight into `jobs` (this file tests reads, not InsertJobs). */
async function insertRows(pool: pg.Pool, ids: readonly string[]): Promise<void> {
  await pool.query(
    `INSERT INTO jobs (id, type, queue, payload, status, created_at, updated_at, scheduled_at)
     SELECT id, 'email.send', 'default', '{}', 'pending', now(), now(), now() FROM unnest($1::uuid[]) AS t(id)`,
    [ids],
  );
}

describe("getJobStates", () => {
  let f: DbFixture;
  beforeAll(async () => {
    f = await setupDatabase();
  });
  afterAll(async () => {
    await f?.close();
  });

  it("answers status and last_seq of known jobs and leaves unknown ids out", async () => {
    const [a, b] = [{ id: uuidv7() }, { id: uuidv7() }];
    await insertRows(f.pool, [a.id, b.id]);
    await f.pool.query("UPDATE jobs SET status = 'completed', last_seq = 4 WHERE id = $1", [b.id]);
    const rows = await getJobStates(f.pool, [a.id, uuidv7(), b.id]);
    expect(rows.sort((x, y) => (x.id < y.id ? -1 : 1))).toEqual([
      { id: a.id, status: "pending", last_seq: 1 },
      { id: b.id, status: "completed", last_seq: 4 },
    ]);
  });

  it("answers nothing for no ids", async () => {
    expect(await getJobStates(f.pool, [])).toEqual([]);
  });
});
