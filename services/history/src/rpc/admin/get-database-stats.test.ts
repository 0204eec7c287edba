import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryAdminService, HistoryIngestService, HistoryService, type StatementTiming } from "@taskflow/proto";
import {
  createTestDatabase,
  eventually,
  type PrivatePostgres,
  rejection,
  startPrivatePostgres,
  type TestDatabase,
} from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { quietLogger, uuidv7, waitForLockWaiter } from "../../../test/fixtures.js";
import { HISTORY_DEFAULTS } from "../../config.js";
import { endPool } from "../../db/pool.js";
import { type RunningHistory, startHistory } from "../../start-history.js";
import { durationOfMs, STATEMENTS_LIMIT_DEFAULT } from "./get-database-stats.js";

describe("GetDatabaseStats over gRPC (HTTP/2)", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let admin: Client<typeof HistoryAdminService>;
  let sql: pg.Pool;

  /** A history server on the file's database, and its clients. */
  const serve = async () => {
    const started = await startHistory(
      { ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url, databasePoolMax: 7, pageTokenSecret: "test-secret-0123456789" },
      { logger: quietLogger },
    );
    const transport = createGrpcTransport({ baseUrl: started.url });
    return {
      history: started,
      admin: createClient(HistoryAdminService, transport),
      client: createClient(HistoryService, transport),
      ingest: createClient(HistoryIngestService, createGrpcTransport({ baseUrl: started.internalUrl })),
    };
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ history, admin } = await serve());
    sql = new pg.Pool({ connectionString: db.url, max: 3 });
    // The sampler's first run starts with the server: let it finish before a test locks a table it samples.
    await eventually(async () => ((await sql.query("SELECT 1 FROM table_size_samples LIMIT 1")).rowCount ? true : undefined));
  });
  afterAll(async () => {
    if (sql) await endPool(sql);
    await history?.close();
    await db?.drop();
  });

  const isRanked = (xs: StatementTiming[], key: (t: StatementTiming) => number) =>
    xs.every((t, i) => i === 0 || key(xs[i - 1]!) >= key(t));

  it("answers invalid_argument naming statements_limit outside 0..100", async () => {
    for (const statementsLimit of [-1, 101]) {
      const err = await rejection(admin.getDatabaseStats({ statementsLimit }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toContain("statements_limit");
    }
  });

  it("reports the primary pool and this process's statements, ranked and limited", async () => {
    // A server of its own: the ranking is of one process's statements, which other tests' calls would change.
    const { history, admin, client, ingest } = await serve();
    onTestFinished(() => history.close());
    const id = uuidv7();
    await ingest.insertJobs({ jobs: [{ id, type: "t.x", queue: "q", maxAttempts: 1 }] });
    for (let i = 0; i < 6; i++) await client.getJob({ id });
    await client.listJobs({});

    const res = await admin.getDatabaseStats({ statementsLimit: 2 });
    expect(timestampMs(res.collectedAt!)).toBeGreaterThan(Date.now() - 60_000);
    expect(res.pools.map((p) => p.name)).toEqual(["primary"]);
    expect(res.pools[0]!.max).toBe(7);
    expect(res.pools[0]!.total).toBeGreaterThanOrEqual(1);
    expect(res.pools[0]!.total).toBeLessThanOrEqual(7);
    expect(res.slowestStatements).toHaveLength(2);
    expect(res.frequentStatements).toHaveLength(2);
    expect(isRanked(res.slowestStatements, (t) => durationMs(t.total!))).toBe(true);
    expect(isRanked(res.frequentStatements, (t) => Number(t.calls))).toBe(true);
    const getJob = res.frequentStatements.find((t) => t.name === "history_get_job");
    expect(getJob?.calls).toBeGreaterThanOrEqual(6n);
    expect(getJob?.errors).toBe(0n);
    expect(durationMs(getJob!.max!)).toBeGreaterThanOrEqual(durationMs(getJob!.mean!));

    const all = await admin.getDatabaseStats({});
    const names = all.frequentStatements.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["history_get_job", "history_insert_jobs"]));
    expect(names.some((n) => n.startsWith("history_list_jobs"))).toBe(true);
    expect(all.frequentStatements.length).toBeLessThanOrEqual(STATEMENTS_LIMIT_DEFAULT);
    // The stats call's own statements are timed too, from the second call on.
    expect(names).toContain("history_dbstats_tables");
  });

  it("reports tables with partitions under their parents, indexes, and the sampler's samples", async () => {
    const res = await admin.getDatabaseStats({});
    const tables = new Map(res.tables.map((t) => [t.name, t]));
    for (const t of ["idempotency_keys", "job_events", "jobs", "pgmigrations", "table_size_samples", "workers"]) {
      expect(tables.get(t)?.parent).toBe("");
      expect(tables.get(t)!.totalBytes).toBeGreaterThan(0n);
    }
    const partitions = res.tables.filter((t) => t.parent === "jobs");
    expect(partitions.length).toBeGreaterThanOrEqual(2);
    expect(partitions.reduce((s, t) => s + t.totalBytes, 0n)).toBe(tables.get("jobs")!.totalBytes);
    expect(tables.get("jobs")!.growthBytesPerDay).toBe(0n);
    const indexTables = new Set(res.indexes.map((i) => i.table));
    for (const t of [...partitions.map((p) => p.name), "workers", "table_size_samples"]) expect(indexTables).toContain(t);
    expect(res.indexes.every((i) => i.bytes > 0n)).toBe(true);
    // startHistory sampled every relation there was, but for any that partition upkeep, starting
    // at the same moment, held locked (it may also have added partitions since).
    const sampled = await eventually(async () => {
      const { rows } = await sql.query<{ relation: string }>("SELECT DISTINCT relation FROM table_size_samples");
      return rows.length > 0 ? rows.map((r) => r.relation) : undefined;
    });
    expect(sampled).toEqual(expect.arrayContaining(["idempotency_keys", "pgmigrations", "workers", "table_size_samples"]));
    for (const r of sampled) expect(tables.has(r)).toBe(true);
  });

  it("reports growth from samples spanning more than an hour", async () => {
    await sql.query(
      `INSERT INTO table_size_samples (relation, sampled_hour, sampled_at, total_bytes)
       SELECT 'workers', date_trunc('hour', sampled_at - interval '2 days', 'UTC'), sampled_at - interval '2 days',
              total_bytes - 4000000
       FROM table_size_samples WHERE relation = 'workers' ORDER BY sampled_at DESC LIMIT 1`,
    );
    const res = await admin.getDatabaseStats({});
    const growth = res.tables.find((t) => t.name === "workers")!.growthBytesPerDay;
    // 4,000,000 bytes over the 2 days between the two samples.
    expect(growth).toBe(2_000_000n);
  });

  it("shows a session waiting for a lock with its blocker, and answers while the table is locked", async () => {
    const holder = await sql.connect();
    const waiter = await sql.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("LOCK TABLE workers IN ACCESS EXCLUSIVE MODE");
      const holderPid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      const waiterPid = (await waiter.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      const waiting = waiter.query("SELECT * FROM workers");
      await waitForLockWaiter(sql);

      const res = await admin.getDatabaseStats({});
      const wait = res.lockWaits.find((w) => w.pid === waiterPid);
      expect(wait).toMatchObject({
        query: "SELECT * FROM workers",
        lockType: "relation",
        mode: "AccessShareLock",
        relation: "workers",
        blockingPids: [holderPid],
      });
      expect(durationMs(wait!.waiting!)).toBeGreaterThanOrEqual(0);
      expect(res.tables.map((t) => t.name)).toContain("workers");

      await holder.query("ROLLBACK");
      await waiting;
    } finally {
      holder.release();
      waiter.release();
    }
    expect((await admin.getDatabaseStats({})).lockWaits).toEqual([]);
  });

  it("reports no read replica when DATABASE_READ_URL is unset", async () => {
    const { replication } = await admin.getDatabaseStats({});
    expect(replication).toMatchObject({ readReplicaConfigured: false, readReplicaInRecovery: false });
    expect(replication!.readReplicaLag).toBeUndefined();
  });

  it("samples again on its interval", async () => {
    const loopDb = await createTestDatabase();
    const fast = await startHistory(
      { ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: loopDb.url, partitionMaintenanceIntervalMs: 20 },
      { logger: quietLogger },
    );
    const probe = new pg.Client({ connectionString: loopDb.url });
    await probe.connect();
    try {
      const sampledAt = async () =>
        (await probe.query<{ at: Date | null }>("SELECT max(sampled_at) AS at FROM table_size_samples")).rows[0]!.at ??
        undefined;
      const first = await eventually(sampledAt);
      await eventually(async () => (((await sampledAt())?.getTime() ?? 0) > first.getTime() ? true : undefined));
    } finally {
      await probe.end();
      await fast.close();
      await loopDb.drop();
    }
  });

  it("rounds durations to whole nanoseconds", () => {
    expect(durationOfMs(1_234.567_891_4)).toEqual({ seconds: 1n, nanos: 234_567_891 });
    expect(durationOfMs(0.000_000_4)).toEqual({ seconds: 0n, nanos: 0 });
  });
});

/**
 * pg_stat_statements on a private server of this file, which does not preload the library,
 * whatever the shared test server loads; read-replica.test.ts covers a server that preloads it.
 */
describe("GetDatabaseStats without pg_stat_statements preloaded", () => {
  let server: PrivatePostgres;
  let db: TestDatabase;
  let history: RunningHistory;
  let admin: Client<typeof HistoryAdminService>;
  let sql: pg.Pool;

  beforeAll(async () => {
    server = await startPrivatePostgres();
    db = await createTestDatabase(server.adminUrl);
    history = await startHistory({ ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url }, { logger: quietLogger });
    admin = createClient(HistoryAdminService, createGrpcTransport({ baseUrl: history.url }));
    sql = new pg.Pool({ connectionString: db.url, max: 1 });
  });
  afterAll(async () => {
    try {
      if (sql) await endPool(sql);
      await history?.close();
    } finally {
      await server?.close();
    }
  });

  it("reports pg_stat_statements unavailable, also once installed without its preloaded library", async () => {
    const { rows } = await sql.query<{ libs: string }>("SELECT current_setting('shared_preload_libraries') AS libs");
    expect(rows[0]!.libs).not.toContain("pg_stat_statements");
    expect((await admin.getDatabaseStats({})).pgStatStatementsAvailable).toBe(false);
    await sql.query("CREATE EXTENSION pg_stat_statements");
    try {
      const res = await admin.getDatabaseStats({});
      expect(res.pgStatStatementsAvailable).toBe(false);
      expect(res.serverStatements).toEqual([]);
      expect(res.tables.length).toBeGreaterThan(0);
    } finally {
      await sql.query("DROP EXTENSION pg_stat_statements");
    }
  });
});
