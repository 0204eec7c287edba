import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rejection } from "@taskflow/test-helpers";
import { startPrivatePostgres, type PrivatePostgres } from "./start-private-postgres.js";

let server: PrivatePostgres;

beforeAll(async () => {
  server = await startPrivatePostgres();
});

afterAll(async () => {
  await server?.close();
});

const query = async (sql: string): Promise<pg.QueryResult> => {
  const client = new pg.Client({ connectionString: server.adminUrl, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
};

describe("startPrivatePostgres", () => {
  it("stops, refuses connections while stopped, and starts again on the same url with its data", async () => {
    await query("CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)");
    await server.stop();
    const err = await rejection(query("SELECT 1"));
    expect(err.message).toMatch(/ECONNREFUSED|connect/);
    await server.start();
    expect((await query("SELECT n FROM kept")).rows).toEqual([{ n: 42 }]);
  });
});
