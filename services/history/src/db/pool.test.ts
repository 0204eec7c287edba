import { once } from "node:events";
import { createTestDatabase, type TestDatabase } from "@taskflow/testkit";
import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkDatabase, createPool, endPool } from "./pool.js";

describe("createPool", () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const warnings: unknown[] = [];
  const logger = pino({ level: "warn" }, { write: (line: string) => void warnings.push(JSON.parse(line)) });

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool({ databaseUrl: db.url, max: 3, statementTimeoutMs: 250 }, logger);
  });
  afterAll(async () => {
    await endPool(pool);
    await db?.drop();
  });

  it("sets statement_timeout on every connection", async () => {
    const { rows } = await pool.query("SHOW statement_timeout");
    expect(rows[0].statement_timeout).toBe("250ms");
    await expect(pool.query("SELECT pg_sleep(2)")).rejects.toMatchObject({ code: "57014" });
  });

  it("survives an idle connection being killed, logging it", async () => {
    const client = await pool.connect();
    const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    client.release();
    const failed = once(pool, "error");
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
    await admin.end();
    await failed;
    expect(warnings).toContainEqual(expect.objectContaining({ msg: "idle database connection failed" }));
    const again = await pool.query("SELECT 1 AS one");
    expect(again.rows).toEqual([{ one: 1 }]);
  });

  it("passes the health check while the database answers", async () => {
    await expect(checkDatabase(pool)(AbortSignal.timeout(5_000))).resolves.toBeUndefined();
  });

  it("fails the health check when the database is unreachable", async () => {
    const dead = createPool({ databaseUrl: "postgres://postgres@127.0.0.1:1/none", max: 1, statementTimeoutMs: 1_000 }, logger);
    try {
      await expect(checkDatabase(dead)(AbortSignal.timeout(5_000))).rejects.toMatchObject({ code: "ECONNREFUSED" });
    } finally {
      await endPool(dead);
    }
  });

  it("fails the health check at once when its signal is aborted", async () => {
    await expect(checkDatabase(pool)(AbortSignal.abort())).rejects.toMatchObject({ name: "AbortError" });
  });
});
