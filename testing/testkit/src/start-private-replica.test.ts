import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "@taskflow/test-helpers";
import { rejection } from "@taskflow/test-helpers";
import { startPrivatePostgres, type PrivatePostgres } from "./start-private-postgres.js";
import { startPrivateReplica, type PrivateReplica } from "./start-private-replica.js";

let primary: PrivatePostgres;
let replica: PrivateReplica;

beforeAll(async () => {
  primary = await startPrivatePostgres();
  await query(primary.adminUrl, "CREATE TABLE before_backup (n int); INSERT INTO before_backup VALUES (1)");
  replica = await startPrivateReplica(primary);
});

afterAll(async () => {
  try {
    await replica?.close();
  } finally {
    await primary?.close();
  }
});

async function query<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe("startPrivateReplica", () => {
  it("is a read-only standby holding the primary's data and streaming what comes after", async () => {
    expect(await query(replica.adminUrl, "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: true }]);
    expect(await query(replica.adminUrl, "SELECT n FROM before_backup")).toEqual([{ n: 1 }]);
    const err = await rejection(query(replica.adminUrl, "INSERT INTO before_backup VALUES (2)"));
    expect(err.message).toMatch(/read-only transaction/);

    await query(primary.adminUrl, "CREATE TABLE after_backup (n int); INSERT INTO after_backup VALUES (3)");
    await eventually(async () => {
      const rows = await query<{ n: number }>(replica.adminUrl, "SELECT n FROM after_backup");
      return rows.length === 1 ? rows : undefined;
    });
    const standbys = await query<{ state: string }>(primary.adminUrl, "SELECT state FROM pg_stat_replication");
    expect(standbys).toEqual([{ state: "streaming" }]);
  });

  it("refuses connections while stopped, then catches up with what the primary wrote meanwhile", async () => {
    await replica.stop();
    expect((await rejection(query(replica.adminUrl, "SELECT 1"))).message).toMatch(/ECONNREFUSED|connect/);
    await query(primary.adminUrl, "CREATE TABLE while_stopped (n int); INSERT INTO while_stopped VALUES (4)");
    await replica.start();
    await eventually(async () => {
      const rows = await query<{ n: number }>(replica.adminUrl, "SELECT n FROM while_stopped");
      return rows.length === 1 ? rows : undefined;
    });
  });
});
