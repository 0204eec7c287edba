import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensurePostgres } from "./ensure-postgres.js";
import { freePort } from "./free-port.js";

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe("ensurePostgres", () => {
  let parent: string;

  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), "devstack-pg-"));
    // Run as root, the server runs as OS user postgres, who must reach the data folder.
    await chmod(parent, 0o755);
  });
  afterAll(() => rm(parent, { recursive: true, force: true }));

  it("uses DATABASE_URL as given", async () => {
    const url = "postgres://app@db.example.test:5433/jobs";
    const db = await ensurePostgres({ env: { DATABASE_URL: url } });
    expect(db).toMatchObject({ adminUrl: url, url, source: "env" });
  });

  it("uses a reachable server, creating its taskflow database", async () => {
    const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
    const db = await ensurePostgres({ env: {}, localAdminUrls: [adminUrl] });
    expect(db).toMatchObject({ adminUrl, source: "local" });
    expect(await query(db.url, "select current_database() as name")).toEqual([{ name: "taskflow" }]);
  });

  it("starts an embedded server whose data survives a restart on the same folder", async () => {
    const dir = join(parent, "postgres");
    const localAdminUrls = [`postgres://postgres@127.0.0.1:${await freePort()}/postgres`];
    const signalListeners = process.listenerCount("SIGINT");

    const first = await ensurePostgres({ dir, env: {}, localAdminUrls });
    expect(first.source).toBe("embedded");
    expect(process.listenerCount("SIGINT")).toBe(signalListeners);
    expect(await query(first.url, "select 1 as one")).toEqual([{ one: 1 }]);
    await query(first.url, "create table kept (value int); insert into kept values (42)");
    await first.stop();
    await expect(query(first.url, "select 1")).rejects.toThrow(/ECONNREFUSED/);

    const second = await ensurePostgres({ dir, env: {}, localAdminUrls });
    try {
      expect(await query(second.url, "select value from kept")).toEqual([{ value: 42 }]);
    } finally {
      await second.stop();
    }
  });
});
