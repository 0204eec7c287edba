import { createTestDatabase, type TestDatabase } from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "./migrate.js";

/** A job row as 0001 defines it, with only what these tests are about. */
const INSERT_JOB = `
INSERT INTO jobs (id, type, payload, status, idempotency_key, created_at, updated_at, scheduled_at)
VALUES ($1, 'email.send', '{}', 'pending', $2, $3, $3, $3)`;

describe("migration 0003_idempotency_keys", () => {
  let db: TestDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    expect(await migrate(db.url, { count: 2 })).toEqual(["0001_create_jobs", "0002_job_events"]);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it("carries existing keys over with the default window from their job's creation, then frees jobs of the unique key", async () => {
    const created = new Date("2030-01-01T00:00:00.000Z");
    await client.query(INSERT_JOB, ["018f0000-0000-7000-8000-000000000001", "old-key", created]);
    await client.query(INSERT_JOB, ["018f0000-0000-7000-8000-000000000002", null, created]);
    expect(await migrate(db.url, { count: 1 })).toEqual(["0003_idempotency_keys"]);

    const { rows } = await client.query("SELECT key, job_id, expires_at FROM idempotency_keys");
    expect(rows).toEqual([
      { key: "old-key", job_id: "018f0000-0000-7000-8000-000000000001", expires_at: new Date("2030-01-02T00:00:00.000Z") },
    ]);
    // The key's uniqueness is the table's now: a later job may carry the same key for display.
    await client.query(INSERT_JOB, ["018f0000-0000-7000-8000-000000000003", "old-key", created]);
  });

  it("reverts by keeping each key on its oldest job and restoring the unique index", async () => {
    expect(await migrate(db.url, { direction: "down", count: 1 })).toEqual(["0003_idempotency_keys"]);
    const { rows } = await client.query("SELECT id, idempotency_key FROM jobs ORDER BY id");
    expect(rows.map((r: { idempotency_key: string | null }) => r.idempotency_key)).toEqual(["old-key", null, null]);
    const dup = await client
      .query(INSERT_JOB, ["018f0000-0000-7000-8000-000000000004", "old-key", new Date()])
      .catch((err: unknown) => err);
    expect(dup).toMatchObject({ code: "23505" });
  });
});
