import { ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { HistoryIngestService, HistoryService, JobStatus, QueueService, ScheduleService, SchedulerService, WorkerService } from "@taskflow/proto";
import { eventually, spawnTestStack, testRedisUrl, type TestStack } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Clients, historyRows, type Row, schedulerRows, SQL_METACHARACTERS } from "./bad-input-rows.js";
import { rawCall, type RawAnswer, type WireProtocol } from "@taskflow/testkit";
import { snapshotStores, type StoreSnapshot } from "./store-snapshot.js";

let stack: TestStack;
let sessions: Http2SessionManager[] = [];
/** Clients per protocol; Connect speaks JSON (and binary where a row's JSON cannot be written), gRPC binary. */
let clients: Record<WireProtocol | "connect-binary", Clients>;
let before: StoreSnapshot;

function clientsOver(make: (baseUrl: string, sessionManager: Http2SessionManager) => Transport): Clients {
  const transport = (baseUrl: string) => {
    const manager = new Http2SessionManager(baseUrl);
    sessions.push(manager);
    return make(baseUrl, manager);
  };
  const scheduler = transport(stack.schedulerUrl);
  const history = transport(stack.historyUrl);
  const internal = transport(stack.historyInternalUrl);
  return {
    scheduler: createClient(SchedulerService, scheduler),
    worker: createClient(WorkerService, scheduler),
    history: createClient(HistoryService, history),
    ingest: createClient(HistoryIngestService, internal),
    queues: createClient(QueueService, scheduler),
    schedules: createClient(ScheduleService, scheduler),
  };
}

beforeAll(async () => {
  // No worker: the seeded jobs stay where they are, so any change to a store is the table's doing.
  stack = await spawnTestStack({ worker: false, scheduler: { RECONCILE_INTERVAL_MS: "86400000", SWEEP_INTERVAL_MS: "50" } });
  clients = {
    connect: clientsOver((baseUrl, sessionManager) => createConnectTransport({ baseUrl, httpVersion: "2", sessionManager })),
    "connect-binary": clientsOver((baseUrl, sessionManager) =>
      createConnectTransport({ baseUrl, httpVersion: "2", sessionManager, useBinaryFormat: true }),
    ),
    grpc: clientsOver((baseUrl, sessionManager) => createGrpcTransport({ baseUrl, sessionManager })),
  };
  const c = clients.grpc;
  await c.scheduler.submitJobs({
    jobs: [
      { type: "echo", payload: { n: 1 } },
      { type: "report.build", queue: "reports", idempotencyKey: "seed-key" },
      { type: "echo", schedule: { case: "delay", value: { seconds: 3600n, nanos: 0 } } },
    ],
  });
  await c.worker.registerWorker({ workerId: "seed-worker", queues: ["default"], jobTypes: ["echo"], concurrency: 1 });
  // The outbox forwarder creates each known queue's (empty) outbox stream on its next sweep.
  before = await eventually(async () => {
    const snapshot = await snapshotStores(stack, testRedisUrl());
    const outboxes = Object.keys(snapshot.redis).filter((k) => k.endsWith(":outbox"));
    return outboxes.length === 2 ? snapshot : undefined;
  });
}, 60_000);

afterAll(async () => {
  for (const s of sessions) s.abort();
  sessions = [];
  await stack?.stop();
});

/** Sends one row over one protocol; resolves to the code and message it was answered with. */
async function send(row: Row, protocol: WireProtocol): Promise<RawAnswer> {
  if ("path" in row) {
    const baseUrl = row.path.includes(".HistoryIngest") ? stack.historyInternalUrl : row.path.includes(".History") ? stack.historyUrl : stack.schedulerUrl;
    return rawCall(baseUrl, row.path, { protocol, codec: row.codec, body: row.body });
  }
  const c = protocol === "connect" && row.binaryOnly === true ? clients["connect-binary"] : clients[protocol];
  try {
    await row.send(c);
    return { code: "ok", message: "" };
  } catch (err) {
    const ce = ConnectError.from(err);
    return { code: codeToString(ce.code), message: ce.rawMessage };
  }
}

const protocols: WireProtocol[] = ["connect", "grpc"];
/** Matches a message that holds `word`, in any case. */
const mentioning = (word: string): RegExp => new RegExp(word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i");
const cases = (rows: Row[]) => rows.flatMap((row) => protocols.map((protocol) => ({ row, protocol, name: row.name })));

describe.each([
  { service: "scheduler", rows: schedulerRows },
  { service: "history", rows: historyRows },
])("bad requests to $service", ({ rows }) => {
  it("has a row for everything the issue lists", () => {
    expect(rows.length).toBeGreaterThanOrEqual(25);
  });

  it.each(cases(rows))("$name over $protocol", async ({ row, protocol }) => {
    const answer = await send(row, protocol);
    expect(answer).toEqual({ code: codeToString(row.code), message: expect.stringMatching(mentioning(row.says)) });
  });
});

describe("SQL metacharacters in string filters", () => {
  it.each(protocols)("are plain values over %s: a filter for them finds nothing", async (protocol) => {
    const c = clients[protocol];
    expect((await c.history.listJobs({ pageSize: 500 })).jobs.length).toBeGreaterThanOrEqual(3);
    for (const value of SQL_METACHARACTERS) {
      const byType = await c.history.listJobs({ types: [value] });
      const byQueue = await c.history.listJobs({ queues: [value] });
      const both = await c.history.listJobs({ types: [value, "echo"], queues: ["default", value], statuses: [JobStatus.PENDING] });
      expect({ value, type: byType.jobs.length, queue: byQueue.jobs.length }).toEqual({ value, type: 0, queue: 0 });
      // Beside a real value the metacharacter matches nothing more than that value does.
      expect(both.jobs.every((j) => j.type === "echo" && j.queue === "default")).toBe(true);
    }
  });
});

describe("after every bad request", () => {
  it("both stores hold exactly what they held before", async () => {
    const after = await snapshotStores(stack, testRedisUrl());
    expect(after).toEqual(before);
    expect(Object.keys(after.redis).length).toBeGreaterThan(0);
    expect(after.tables.jobs?.rows).toBe(3);
  });
});

describe("the services stay healthy", () => {
  it("accepts a good submit after the table and records it", async () => {
    const { job } = await clients.connect.scheduler.submitJob({ type: "echo", payload: { after: "table" } });
    const { job: stored } = await clients.grpc.history.getJob({ id: job!.id });
    expect(stored).toMatchObject({ type: "echo", status: JobStatus.PENDING, payload: { after: "table" } });
  });
});
