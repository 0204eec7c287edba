import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "@taskflow/proto/gen/grpc/health/v1/health_pb";
import { createTestDatabase, type TestDatabase } from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger } from "../test/fixtures.js";
import { HISTORY_DEFAULTS } from "./config.js";
import { listPendingMigrations, SchemaNotCurrentError } from "./db/check-schema-current.js";
import { migrate } from "./db/migrate.js";
import { startHistory } from "./start-history.js";

/** History as the prod overlay runs it: migrations are the migration Job's, not start-up's. */
const startWithoutMigrating = (databaseUrl: string) =>
  startHistory({ ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl, migrateOnStart: false }, { logger: quietLogger });

describe("history with HISTORY_MIGRATE_ON_START=false", () => {
  let db: TestDatabase;
  let all: string[];

  beforeAll(async () => {
    db = await createTestDatabase();
    all = await listPendingMigrations(db.url);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("refuses to start on a database never migrated, and migrates nothing itself", async () => {
    expect(all.length).toBeGreaterThan(0);
    const err = await startWithoutMigrating(db.url).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SchemaNotCurrentError);
    expect((err as SchemaNotCurrentError).pending).toEqual(all);
    expect((err as Error).message).toContain("database schema is not at the newest version");
    expect((err as Error).message).toContain("HISTORY_MIGRATE_ON_START=true");
    expect(await listPendingMigrations(db.url)).toEqual(all);
  });

  it("refuses to start while the newest migration is pending, naming it", async () => {
    expect(await migrate(db.url, { count: all.length - 1 })).toEqual(all.slice(0, -1));
    await expect(startWithoutMigrating(db.url)).rejects.toThrow(
      `1 migration(s) pending (${all[all.length - 1] ?? ""})`,
    );
  });

  it("starts and serves once the migrations ran apart", async () => {
    expect(await migrate(db.url)).toEqual(all.slice(-1));
    expect(await listPendingMigrations(db.url)).toEqual([]);
    const history = await startWithoutMigrating(db.url);
    try {
      const health = createClient(Health, createGrpcTransport({ baseUrl: history.url }));
      expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      await history.close();
    }
  });

  it("runs as a user that may only read and write rows: its loops add and drop day partitions through the owner's functions", async () => {
    const role = `tf_app_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const url = new URL(db.url);
    url.username = role;
    url.password = "";
    const app = new pg.Client({ connectionString: url.toString() });
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN`);
      await admin.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
      await admin.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
      await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
      await admin.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
      await app.connect();
      const denied = await app.query("CREATE TABLE jobs_p20990101 (LIKE jobs)").then(
        () => "created",
        (e: unknown) => (e as { code?: string }).code,
      );
      expect(denied).toBe("42501");
      const made = await app.query<{ n: number }>("SELECT taskflow_ensure_partitions(DATE '2099-01-01', DATE '2099-01-02') AS n");
      expect(made.rows[0]?.n).toBe(2);
      const dropped = await app.query<{ d: boolean }>("SELECT taskflow_drop_day_partitions(DATE '2099-01-02') AS d");
      expect(dropped.rows[0]?.d).toBe(true);
      const history = await startWithoutMigrating(url.toString());
      try {
        const health = createClient(Health, createGrpcTransport({ baseUrl: history.url }));
        expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      } finally {
        await history.close();
      }
    } finally {
      await app.end().catch(() => undefined);
      await admin.query(`DROP OWNED BY ${role}`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });
});
