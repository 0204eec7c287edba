import { Code, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryIngestService, HistoryService, WorkerStatus } from "@taskflow/proto";
import { createTestDatabase, rejection, type TestDatabase } from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger } from "../../test/fixtures.js";
import { HISTORY_DEFAULTS } from "../config.js";
import { endPool } from "../db/pool.js";
import { type RunningHistory, startHistory } from "../start-history.js";

const { HEALTHY, STALE, GONE } = WorkerStatus;

describe("ListWorkers filtered by status over gRPC (HTTP/2)", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let client: Client<typeof HistoryService>;
  let sql: pg.Pool;
  /** Ids of the workers of each status, in id order. */
  const expected = new Map<WorkerStatus, string[]>([[HEALTHY, []], [STALE, []], [GONE, []]]);

  beforeAll(async () => {
    db = await createTestDatabase();
    history = await startHistory(
      { ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url, pageTokenSecret: "test-secret-0123456789", workerStaleMs: 20_000, workerGoneMs: 120_000 },
      { logger: quietLogger },
    );
    const transport = createGrpcTransport({ baseUrl: history.internalUrl });
    client = createClient(HistoryService, transport);
    const ingest = createClient(HistoryIngestService, transport);
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
    // Twelve workers: healthy, stale (silent 1 minute), gone (silent 5 minutes) and
    // deregistered, in turn; the thresholds are the server's, 20 s and 2 min.
    const ids = Array.from({ length: 12 }, (_, i) => `lw-${String(i).padStart(2, "0")}`);
    await ingest.upsertWorkers({
      workers: ids.map((id, i) => ({ id, status: i % 4 === 3 ? GONE : HEALTHY, jobTypes: ["echo"], hostname: "h" })),
    });
    await sql.query(
      `UPDATE workers SET last_seen = now() - s.silence * interval '1 second'
       FROM unnest($1::text[], $2::int[]) AS s(id, silence) WHERE workers.id = s.id`,
      [ids, ids.map((_, i) => [0, 60, 300, 0][i % 4])],
    );
    ids.forEach((id, i) => expected.get([HEALTHY, STALE, GONE, GONE][i % 4] as WorkerStatus)?.push(id));
  });
  afterAll(async () => {
    if (sql) await endPool(sql);
    await history?.close();
    await db?.drop();
  });

  /** Every page of a walk, ids and the status each came back with. */
  const walk = async (statuses: WorkerStatus[], pageSize: number) => {
    const seen: [string, WorkerStatus][] = [];
    let pageToken = "";
    do {
      const page = await client.listWorkers({ statuses, pageSize, pageToken });
      expect(page.workers.length).toBeLessThanOrEqual(pageSize);
      seen.push(...page.workers.map((w): [string, WorkerStatus] => [w.id, w.status]));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return seen;
  };
  const of = (...statuses: WorkerStatus[]) =>
    statuses.flatMap((s) => (expected.get(s) ?? []).map((id): [string, WorkerStatus] => [id, s])).sort((a, b) => (a[0] < b[0] ? -1 : 1));

  it.each<[string, WorkerStatus[], number]>([
    ["HEALTHY", [HEALTHY], 1],
    ["STALE", [STALE], 2],
    ["GONE", [GONE], 2],
    ["STALE and GONE", [STALE, GONE], 4],
    ["every status (empty)", [], 5],
  ])("walks the workers that are %s, each once, in id order", async (_, statuses, pageSize) => {
    const want = of(...(statuses.length === 0 ? [HEALTHY, STALE, GONE] : statuses));
    expect(want.length).toBeGreaterThan(2);
    expect(await walk(statuses, pageSize)).toEqual(want);
  });

  it("accepts a token with the same statuses in another order, and refuses it with others", async () => {
    const first = await client.listWorkers({ statuses: [GONE, STALE], pageSize: 2 });
    const next = await client.listWorkers({ statuses: [STALE, GONE, STALE], pageSize: 2, pageToken: first.nextPageToken });
    expect([...first.workers, ...next.workers].map((w) => w.id)).toEqual(of(STALE, GONE).slice(0, 4).map(([id]) => id));
    for (const statuses of [[STALE], [], [HEALTHY, STALE, GONE]]) {
      const err = await rejection(client.listWorkers({ statuses, pageSize: 2, pageToken: first.nextPageToken }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toContain("page_token");
    }
  });

  it.each<[string, WorkerStatus[]]>([
    ["an unspecified status", [WorkerStatus.UNSPECIFIED]],
    ["an unknown status", [9 as WorkerStatus]],
  ])("answers invalid_argument for %s, naming statuses", async (_, statuses) => {
    const err = await rejection(client.listWorkers({ statuses }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("statuses");
  });
});
