import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "@taskflow/proto/gen/grpc/health/v1/health_pb";
import { createTestDatabase, type TestDatabase } from "@taskflow/testkit";
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
});
