import { createHash } from "node:crypto";
import { chmod, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensurePostgres } from "./ensure-postgres.js";
import { freePort } from "./free-port.js";
import { resolvePostgresOwner } from "./resolve-postgres-owner.js";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "./start-embedded-postgres.js";

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Starts the embedded server on `dir`, writes a row, stops it, starts it again and reads the
 * row back. Returns the data folder the server reported.
 */
async function expectDataToSurviveRestart(dir: string): Promise<string> {
  const localAdminUrls = [`postgres://postgres@127.0.0.1:${await freePort()}/postgres`];
  const first = await ensurePostgres({ dir, env: {}, localAdminUrls });
  expect(first.source).toBe("embedded");
  const [setting] = await query(first.url, "show data_directory");
  await query(first.url, "create table kept (value int); insert into kept values (42)");
  await first.stop();
  await expect(query(first.url, "select 1")).rejects.toThrow(/ECONNREFUSED/);

  const second = await ensurePostgres({ dir, env: {}, localAdminUrls });
  try {
    expect(await query(second.url, "select value from kept")).toEqual([{ value: 42 }]);
  } finally {
    await second.stop();
  }
  return String(setting?.data_directory);
}

describe("ensurePostgres", () => {
  let parent: string;
  const fallbacks: string[] = [];
  /** A server of this file's own that stands for a developer's local one. */
  let local: EmbeddedPostgres | undefined;

  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), "devstack-pg-"));
    // Run as root, the server runs as OS user postgres, which must reach the data folder.
    await chmod(parent, 0o755);
  });
  afterAll(async () => {
    await local?.stop();
    for (const dir of [parent, ...fallbacks]) await rm(dir, { recursive: true, force: true });
  });

  it("uses DATABASE_URL as given", async () => {
    const url = "postgres://app@db.example.test:5433/jobs";
    const db = await ensurePostgres({ env: { DATABASE_URL: url } });
    expect(db).toMatchObject({ adminUrl: url, url, source: "env" });
  });

  it("uses a reachable server, creating its taskflow database", async () => {
    // Not the shared test server: its taskflow database would outlive the test (and may be a
    // developer's, which `npm start` uses).
    local = await startEmbeddedPostgres(join(parent, "local"));
    const { adminUrl } = local;
    const db = await ensurePostgres({ env: {}, localAdminUrls: [adminUrl] });
    expect(db).toMatchObject({ adminUrl, source: "local" });
    expect(await query(db.url, "select current_database() as name")).toEqual([{ name: "taskflow" }]);
  });

  it("starts an embedded server whose data survives a restart on the same folder", async () => {
    const dir = join(parent, "postgres");
    const signalListeners = process.listenerCount("SIGINT");
    expect(await expectDataToSurviveRestart(dir)).toBe(dir);
    // The launcher alone decides what a signal stops.
    expect(process.listenerCount("SIGINT")).toBe(signalListeners);
  });

  it("moves data the server's OS user could not reach to where it can, kept across restarts", async () => {
    // A 0700 folder of ours: root's server (OS user postgres) cannot pass it, anyone else's
    // server runs as that user, and can.
    const dir = join(await mkdtemp(join(parent, "private-")), "postgres");
    const owner = await resolvePostgresOwner();
    if (!owner) {
      expect(await expectDataToSurviveRestart(dir)).toBe(dir);
      return;
    }
    const hash = createHash("sha256").update(dir).digest("hex").slice(0, 12);
    const fallback = join("/var/lib/taskflow", `postgres-${hash}`);
    fallbacks.push(fallback);
    expect(await expectDataToSurviveRestart(dir)).toBe(fallback);
    const { uid, mode } = await stat(fallback);
    expect({ uid, mode: mode & 0o777 }).toEqual({ uid: owner.uid, mode: 0o700 });
  });
});
