import { createTestDatabase, type TestDatabase } from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeJob, quietLogger, uuidv7 } from "../test/fixtures.js";
import { migrate } from "./db/migrate.js";
import { endPool } from "./db/pool.js";
import { insertJobs } from "./db/queries/insert-jobs.js";
import { rebuildSearch } from "./rebuild-search.js";

const SECRET_KEYS = ["authorization", "password"];

describe("rebuildSearch on jobs stored before migration 0010", () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const old = [uuidv7(), uuidv7(), uuidv7()];
  let fresh: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url, { count: 9 });
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    // Three jobs as 0009's generated column indexed them: every value, the error at weight D.
    await pool.query(
      `INSERT INTO jobs (id, type, payload, status, error, created_at, updated_at, scheduled_at)
       SELECT id, 't', p, 'failed', e, now(), now(), now()
       FROM unnest($1::uuid[], $2::jsonb[], $3::text[]) AS t(id, p, e)`,
      [
        old,
        [
          JSON.stringify({ headers: { Authorization: "Bearer s3cr3tvalue" }, note: "findme" }),
          JSON.stringify({ user: { password: "hunter2" } }),
          JSON.stringify({ note: "plain" }),
        ],
        ["smtp timeout", null, null],
      ],
    );
    await migrate(db.url);
    fresh = (await insertJobs(pool, [makeJob({ payload: { password: "newpass", note: "fresh" } })]))[0]?.id as string;
  });
  afterAll(async () => {
    await endPool(pool);
    await db?.drop();
  });

  const found = async (word: string): Promise<string[]> =>
    (await pool.query<{ id: string }>("SELECT id FROM jobs WHERE search @@ websearch_to_tsquery('simple', $1) ORDER BY id", [word])).rows.map(
      (r) => r.id,
    );

  it("takes the secrets of stored jobs out of the index, in batches, writing only the rows that change", async () => {
    expect(await found("s3cr3tvalue")).toEqual([old[0]]);
    expect(await found("hunter2")).toEqual([old[1]]);
    const result = await rebuildSearch(pool, { batchSize: 2, secretKeys: SECRET_KEYS }, quietLogger);
    // The first two carried secrets and the first an error at the old weight; the plain one and
    // the job stored after 0010 already have today's vector.
    expect(result).toEqual({ read: 4, rewritten: 2 });
    expect(await found("s3cr3tvalue")).toEqual([]);
    expect(await found("hunter2")).toEqual([]);
    expect(await found("findme")).toEqual([old[0]]);
    expect(await found("timeout")).toEqual([old[0]]);
    expect(await found("plain")).toEqual([old[2]]);
    expect(await found("newpass")).toEqual([]);
    expect(await found("fresh")).toEqual([fresh]);
  });

  it("gives the error its own weight, so a later error change replaces it", async () => {
    const { rows } = await pool.query<{ search: string }>("SELECT search::text FROM jobs WHERE id = $1", [old[0]]);
    expect(rows[0]?.search).toMatch(/'smtp':\d+A/);
    expect(await rebuildSearch(pool, { batchSize: 100, secretKeys: SECRET_KEYS }, quietLogger)).toEqual({ read: 4, rewritten: 0 });
  });

  it("stops between batches when told to", async () => {
    const stop = AbortSignal.abort();
    expect(await rebuildSearch(pool, { batchSize: 1, secretKeys: SECRET_KEYS, signal: stop }, quietLogger)).toEqual({ read: 0, rewritten: 0 });
  });
});
