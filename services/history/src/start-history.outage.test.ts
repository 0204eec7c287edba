import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryIngestService, HistoryService } from "@taskflow/proto";
import {
  createTestDatabase,
  eventually,
  type PrivatePostgres,
  rejection,
  startPrivatePostgres,
  type TestDatabase,
} from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturingLogger, uuidv7 } from "../test/fixtures.js";
import { HISTORY_DEFAULTS, type HistoryConfig } from "./config.js";
import { type RunningHistory, startHistory } from "./start-history.js";

/** The error a server stream ends with; fails the test when it ends cleanly. */
async function streamFailure(stream: AsyncIterable<unknown>): Promise<ConnectError> {
  try {
    for await (const _ of stream) {
      // Reading on: the failure comes mid-stream or before the first message.
    }
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the stream to fail");
}

/**
 * History on a private PostgreSQL server that the tests stop and start: a database outage, or a
 * statement past its time limit, is `unavailable` (retry) for every caller, never `internal`.
 */
describe("history while its database fails", () => {
  let server: PrivatePostgres;
  let db: TestDatabase;
  const servers: RunningHistory[] = [];
  const log = capturingLogger();

  const serve = async (over: Partial<HistoryConfig> = {}) => {
    const history = await startHistory({ ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url, ...over }, { logger: log.logger });
    servers.push(history);
    const transport = createGrpcTransport({ baseUrl: history.url });
    return { client: createClient(HistoryService, transport), ingest: createClient(HistoryIngestService, createGrpcTransport({ baseUrl: history.internalUrl })) };
  };
  let client: Client<typeof HistoryService>;
  let ingest: Client<typeof HistoryIngestService>;

  beforeAll(async () => {
    server = await startPrivatePostgres();
    db = await createTestDatabase(server.adminUrl);
    ({ client, ingest } = await serve());
  });
  afterAll(async () => {
    try {
      for (const s of servers) await s.close();
    } finally {
      await server?.close();
    }
  });

  const newJob = () => ({ id: uuidv7(), type: "outage.check", queue: "q", maxAttempts: 1 });

  it("answers unavailable on every kind of call while PostgreSQL is down, and serves again once it is back", async () => {
    const job = newJob();
    await ingest.insertJobs({ jobs: [job] });
    await server.stop();
    try {
      const calls = {
        getJob: await rejection(client.getJob({ id: job.id })),
        listJobs: await rejection(client.listJobs({})),
        insertJobs: await rejection(ingest.insertJobs({ jobs: [newJob()] })),
        exportAuditTrail: await streamFailure(
          client.exportAuditTrail({ range: { startTime: timestampFromMs(0), endTime: timestampFromMs(Date.now() + 60_000) } }),
        ),
      };
      for (const err of Object.values(calls)) {
        expect({ code: err.code, message: err.rawMessage }).toEqual({ code: Code.Unavailable, message: "database unavailable; retry" });
      }
      const answered = log.lines.filter((l) => l.msg === "database failure answered");
      expect(answered.map((l) => l.procedure)).toEqual(
        expect.arrayContaining(["taskflow.v1.HistoryService/GetJob", "taskflow.v1.HistoryIngestService/InsertJobs"]),
      );
      expect(answered.every((l) => l.code === "unavailable" && l.level === 40)).toBe(true);
      expect(log.lines.some((l) => l.msg === "internal error")).toBe(false);
    } finally {
      await server.start();
    }
    const back = await eventually(async () => (await client.getJob({ id: job.id }).catch(() => undefined))?.job);
    expect(back.id).toBe(job.id);
  });

  it("answers unavailable when a statement runs past STATEMENT_TIMEOUT_MS", async () => {
    const { client: hurried } = await serve({ statementTimeoutMs: 200 });
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE");

      const err = await rejection(hurried.getJob({ id: uuidv7() }));

      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toBe("database busy: a statement ran past its time limit; retry");
    } finally {
      await holder.query("ROLLBACK");
      await holder.end();
    }
  });
});
