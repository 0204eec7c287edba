import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryIngestService, HistoryService, type JobSchema } from "@taskflow/proto";
import { createTestDatabase, rejection, type TestDatabase } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger, uuidv7 } from "../../test/fixtures.js";
import { HISTORY_DEFAULTS } from "../config.js";
import { type RunningHistory, startHistory } from "../start-history.js";

type JobInit = MessageInitShape<typeof JobSchema>;

const jobInit = (over: JobInit = {}): JobInit => ({ id: uuidv7(), type: "email.send", queue: "default", maxAttempts: 3, ...over });

describe("InsertJobs request digests over gRPC", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let ingest: Client<typeof HistoryIngestService>;
  let client: Client<typeof HistoryService>;

  beforeAll(async () => {
    db = await createTestDatabase();
    history = await startHistory({ ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url }, { logger: quietLogger });
    const transport = createGrpcTransport({ baseUrl: history.internalUrl });
    ingest = createClient(HistoryIngestService, transport);
    client = createClient(HistoryService, transport);
  });
  afterAll(async () => {
    await history?.close();
    await db?.drop();
  });

  const exists = async (id: string | undefined) =>
    (await client.getJob({ id: id as string }).then(() => true, () => false));

  it("answers the holder's job to a request with the same digest", async () => {
    const first = await ingest.insertJobs({ jobs: [jobInit({ idempotencyKey: "g-same" })], requestDigests: ["d1"] });
    const again = await ingest.insertJobs({ jobs: [jobInit({ idempotencyKey: "g-same" })], requestDigests: ["d1"] });
    expect(again.jobs.map((j) => j.id)).toEqual([first.jobs[0]?.id]);
  });

  it("refuses with already_exists, naming the job, a key used for a different request, storing nothing", async () => {
    await ingest.insertJobs({ jobs: [jobInit({ idempotencyKey: "g-other" })], requestDigests: ["d1"] });
    const batch = [jobInit(), jobInit(), jobInit(), jobInit({ idempotencyKey: "g-other", queue: "reports" })];
    const err = await rejection(ingest.insertJobs({ jobs: batch, requestDigests: ["", "", "", "d2"] }));
    expect(err.code).toBe(Code.AlreadyExists);
    expect(err.rawMessage).toContain("jobs[3].idempotency_key");
    expect(err.rawMessage).toContain("different request");
    for (const job of batch) expect(await exists(job.id)).toBe(false);
  });

  it("matches any request when the caller sends no digests", async () => {
    const first = await ingest.insertJobs({ jobs: [jobInit({ idempotencyKey: "g-none" })], requestDigests: ["d1"] });
    const again = await ingest.insertJobs({ jobs: [jobInit({ idempotencyKey: "g-none" })] });
    expect(again.jobs.map((j) => j.id)).toEqual([first.jobs[0]?.id]);
  });

  it.each([
    ["fewer digests than jobs", [jobInit(), jobInit()], ["d1"], "request_digests"],
    ["more digests than jobs", [jobInit()], ["d1", "d2"], "request_digests"],
    ["a digest over 128 characters", [jobInit(), jobInit()], ["d1", "x".repeat(129)], "request_digests[1]"],
  ])("answers invalid_argument for %s, storing nothing", async (_, jobs, requestDigests, field) => {
    const err = await rejection(ingest.insertJobs({ jobs, requestDigests }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain(field);
    for (const job of jobs) expect(await exists(job.id)).toBe(false);
  });

  it("accepts a digest of exactly 128 characters", async () => {
    const { jobs } = await ingest.insertJobs({ jobs: [jobInit({ idempotencyKey: "g-long" })], requestDigests: ["x".repeat(128)] });
    expect(jobs).toHaveLength(1);
  });
});
