import { durationMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryAdminService, HistoryIngestService, HistoryService } from "@taskflow/proto";
import {
  createTestDatabase,
  eventually,
  type PrivatePostgres,
  type PrivateReplica,
  rejection,
  startPrivatePostgres,
  startPrivateReplica,
  type TestDatabase,
} from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger, uuidv7 } from "../test/fixtures.js";
import { HISTORY_DEFAULTS } from "./config.js";
import { type RunningHistory, startHistory } from "./start-history.js";

/** Runs `sql` on a connection of its own to `url`. */
async function query<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

/**
 * History on a primary and a streaming hot standby of it, both private servers of this file:
 * DATABASE_URL is the primary, DATABASE_READ_URL the standby. The primary preloads
 * pg_stat_statements (the shared test server does not), so its available path is proven here.
 */
describe("history with a streaming read replica", () => {
  let primary: PrivatePostgres;
  let replica: PrivateReplica;
  let db: TestDatabase;
  let history: RunningHistory;
  let client: Client<typeof HistoryService>;
  let ingest: Client<typeof HistoryIngestService>;
  let admin: Client<typeof HistoryAdminService>;

  beforeAll(async () => {
    primary = await startPrivatePostgres();
    await query(primary.adminUrl, "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'");
    await primary.stop();
    await primary.start();
    db = await createTestDatabase(primary.adminUrl);
    await query(db.url, "CREATE EXTENSION pg_stat_statements");
    replica = await startPrivateReplica(primary);
    history = await startHistory(
      {
        ...HISTORY_DEFAULTS,
        port: 0,
        internalPort: 0,
        databaseUrl: db.url,
        databaseReadUrl: replica.urlOf(db.url),
        pageTokenSecret: "test-secret-0123456789",
      },
      { logger: quietLogger },
    );
    const transport = createGrpcTransport({ baseUrl: history.url });
    client = createClient(HistoryService, transport);
    ingest = createClient(HistoryIngestService, createGrpcTransport({ baseUrl: history.internalUrl }));
    admin = createClient(HistoryAdminService, transport);
  });
  afterAll(async () => {
    try {
      await history?.close();
    } finally {
      try {
        await replica?.close();
      } finally {
        await primary?.close();
      }
    }
  });

  const insertJob = async (): Promise<string> => {
    const id = uuidv7();
    await ingest.insertJobs({ jobs: [{ id, type: "replica.check", queue: "q", maxAttempts: 1 }] });
    return id;
  };
  const listedIds = async () => (await client.listJobs({ pageSize: 500 })).jobs.map((j) => j.id);

  it("lists from the replica: a job appears once replayed, not while replay is paused", async () => {
    const first = await insertJob();
    await eventually(async () => ((await listedIds()).includes(first) ? true : undefined));

    await query(replica.urlOf(db.url), "SELECT pg_wal_replay_pause()");
    try {
      const second = await insertJob();
      expect((await client.getJob({ id: second })).job?.id).toBe(second);
      expect(await listedIds()).not.toContain(second);
      await query(replica.urlOf(db.url), "SELECT pg_wal_replay_resume()");
      await eventually(async () => ((await listedIds()).includes(second) ? true : undefined));
    } finally {
      await query(replica.urlOf(db.url), "SELECT pg_wal_replay_resume()").catch(() => undefined);
    }
  });

  it("reports both pools, the replica in recovery with its lag, the standby, and pg_stat_statements", async () => {
    await insertJob();
    const res = await eventually(async () => {
      const r = await admin.getDatabaseStats({ statementsLimit: 5 });
      return r.replication?.readReplicaLag !== undefined && r.replication.standbys.length === 1 ? r : undefined;
    });
    expect(res.pools.map((p) => p.name)).toEqual(["primary", "replica"]);
    expect(res.replication).toMatchObject({ readReplicaConfigured: true, readReplicaInRecovery: true });
    expect(durationMs(res.replication!.readReplicaLag!)).toBeGreaterThanOrEqual(0);
    expect(res.replication!.standbys[0]).toMatchObject({ state: "streaming", clientAddr: "127.0.0.1" });
    expect(res.replication!.standbys[0]!.applicationName).toMatch(/^tf_replica_/);

    expect(res.pgStatStatementsAvailable).toBe(true);
    expect(res.serverStatements.length).toBeGreaterThan(0);
    expect(res.serverStatements.length).toBeLessThanOrEqual(5);
    const totals = res.serverStatements.map((s) => durationMs(s.total!));
    expect(totals).toEqual([...totals].sort((a, b) => b - a));
    expect(res.serverStatements.every((s) => s.calls > 0n && s.query.length <= 1_024)).toBe(true);
  });

  it("fails ListJobs cleanly while the replica is down, keeps GetJob and the stats, and recovers", async () => {
    const id = await insertJob();
    await eventually(async () => ((await listedIds()).includes(id) ? true : undefined));
    await replica.stop();
    try {
      const err = await rejection(client.listJobs({}));
      expect(err.code).toBe(Code.Unavailable);
      expect((await client.getJob({ id })).job?.id).toBe(id);
      const res = await eventually(async () => {
        const r = await admin.getDatabaseStats({});
        return r.replication?.standbys.length === 0 ? r : undefined;
      });
      expect(res.replication).toMatchObject({ readReplicaConfigured: true, readReplicaInRecovery: false });
      expect(res.replication!.readReplicaLag).toBeUndefined();
      expect(res.tables.length).toBeGreaterThan(0);
    } finally {
      await replica.start();
    }
    await eventually(async () => ((await listedIds()).includes(id) ? true : undefined));
  });
});
