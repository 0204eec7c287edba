import type { JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryIngestService, HistoryService, JobEventType, JobStatus } from "@taskflow/proto";
import { DEFAULT_SECRET_PAYLOAD_KEYS } from "@taskflow/service-kit";
import { createTestDatabase, type TestDatabase } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger, uuidv7 } from "../../test/fixtures.js";
import { HISTORY_DEFAULTS } from "../config.js";
import { type RunningHistory, startHistory } from "../start-history.js";

describe("secret-named payload keys and full-text search over gRPC", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let ingest: Client<typeof HistoryIngestService>;
  let client: Client<typeof HistoryService>;

  // `iban` is configured on top of the defaults: proof that the service's list is the one used.
  const secretPayloadKeys = [...DEFAULT_SECRET_PAYLOAD_KEYS, "iban"];
  const payload: JsonObject = {
    headers: { Authorization: "Bearer s3cr3tvalue", accept: "application/json" },
    user: { name: "ann", password: "hunter2" },
    steps: [{ "X-Api-Key": "k3yvalue" }, { client_secret: { value: "deepvalue" } }],
    billing: { IBAN: "DE89370400440532013000" },
    note: "findme",
  };
  let id: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    history = await startHistory({ ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url, secretPayloadKeys }, { logger: quietLogger });
    const transport = createGrpcTransport({ baseUrl: history.internalUrl });
    ingest = createClient(HistoryIngestService, transport);
    client = createClient(HistoryService, transport);
    id = uuidv7();
    await ingest.insertJobs({ jobs: [{ id, type: "http", queue: "default", maxAttempts: 3, payload }] });
  });
  afterAll(async () => {
    await history?.close();
    await db?.drop();
  });

  const found = async (textQuery: string): Promise<string[]> => (await client.listJobs({ textQuery })).jobs.map((j) => j.id);

  it("finds the job by the words of its other values", async () => {
    expect(await found("findme")).toEqual([id]);
    expect(await found("ann")).toEqual([id]);
    expect(await found("application/json")).toEqual([id]);
  });

  it.each(["s3cr3tvalue", "Bearer", "hunter2", "k3yvalue", "deepvalue", "DE89370400440532013000"])(
    "finds nothing by %s, the value of a secret-named key",
    async (word) => {
      expect(await found(word)).toEqual([]);
    },
  );

  it("stores and returns the payload unchanged, and containment still matches it whole", async () => {
    expect((await client.getJob({ id })).job?.payload).toEqual(payload);
    const contains = await client.listJobs({ payloadContains: { user: { password: "hunter2" } } });
    expect(contains.jobs.map((j) => j.id)).toEqual([id]);
  });

  it("keeps the secrets out when the job's error changes, and adds the error's words", async () => {
    const event = (seq: number, type: JobEventType, status: JobStatus, error = "") => ({
      jobId: id,
      seq,
      type,
      status,
      attempt: 1,
      workerId: "w1",
      actor: "worker:w1",
      error,
      occurredAt: timestampFromMs(Date.now() + seq),
    });
    await ingest.appendEvents({
      events: [event(2, JobEventType.STARTED, JobStatus.PROCESSING), event(3, JobEventType.FAILED, JobStatus.FAILED, "gateway refused")],
    });
    expect(await found("refused")).toEqual([id]);
    expect(await found("findme")).toEqual([id]);
    expect(await found("hunter2 or s3cr3tvalue")).toEqual([]);
  });
});
