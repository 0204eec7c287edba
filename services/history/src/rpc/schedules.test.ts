import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryIngestService, OverlapPolicy, type Schedule, ScheduleSchema } from "@taskflow/proto";
import { createTestDatabase, rejection, type TestDatabase } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger, uuidv7 } from "../../test/fixtures.js";
import { HISTORY_DEFAULTS } from "../config.js";
import { type RunningHistory, startHistory } from "../start-history.js";

const definition = (id: string, over: Partial<Schedule> = {}): Schedule => ({
  ...create(ScheduleSchema, {
    id,
    spec: { case: "cron", value: "*/5 * * * *" },
    timeZone: "Europe/Berlin",
    template: { type: "report.build", queue: "reports", payload: { k: 1 }, priority: 5, maxAttempts: 2, timeout: durationFromMs(60_000) },
    overlapPolicy: OverlapPolicy.CANCEL_PREVIOUS,
    catchUp: 3,
    nextRunAt: timestampFromMs(Date.UTC(2030, 0, 1)),
    updatedBy: "api:ops",
  }),
  ...over,
});

describe("schedules over gRPC (internal listener)", () => {
  let db: TestDatabase;
  let history: RunningHistory;
  let ingest: Client<typeof HistoryIngestService>;

  beforeAll(async () => {
    db = await createTestDatabase();
    history = await startHistory({ ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url }, { logger: quietLogger });
    ingest = createClient(HistoryIngestService, createGrpcTransport({ baseUrl: history.internalUrl }));
  });
  afterAll(async () => {
    await history?.close();
    await db?.drop();
  });

  it("stores, changes at the expected version only, reads and deletes a schedule, each version above the last", async () => {
    const { schedule: created } = await ingest.storeSchedule({ schedule: definition("s.crud"), create: true });
    expect(created).toMatchObject({
      id: "s.crud",
      spec: { case: "cron", value: "*/5 * * * *" },
      timeZone: "Europe/Berlin",
      template: { type: "report.build", queue: "reports", payload: { k: 1 }, priority: 5, maxAttempts: 2 },
      overlapPolicy: OverlapPolicy.CANCEL_PREVIOUS,
      catchUp: 3,
      paused: false,
      createdBy: "api:ops",
      updatedBy: "api:ops",
    });
    expect(timestampMs(created!.nextRunAt!)).toBe(Date.UTC(2030, 0, 1));
    expect(await rejection(ingest.storeSchedule({ schedule: definition("s.crud"), create: true }))).toMatchObject({ code: Code.AlreadyExists });

    const change = definition("s.crud", { spec: { case: "interval", value: durationFromMs(2_000) }, timeZone: "", paused: true, nextRunAt: undefined, updatedBy: "api:bob" });
    const { schedule: changed } = await ingest.storeSchedule({ schedule: change, expectedVersion: created!.version });
    expect(changed).toMatchObject({ spec: { case: "interval" }, paused: true, createdBy: "api:ops", updatedBy: "api:bob" });
    expect(changed!.version).toBeGreaterThan(created!.version);
    expect(changed!.nextRunAt).toBeUndefined();
    // A change read at an older version is refused and changes nothing.
    expect(await rejection(ingest.storeSchedule({ schedule: definition("s.crud"), expectedVersion: created!.version }))).toMatchObject({ code: Code.FailedPrecondition });
    expect(await rejection(ingest.storeSchedule({ schedule: definition("s.none") }))).toMatchObject({ code: Code.NotFound });
    expect((await ingest.readSchedules({ ids: ["s.crud", "s.none"] })).schedules.map((s) => [s.id, s.version])).toEqual([["s.crud", changed!.version]]);

    const { version } = await ingest.removeSchedule({ id: "s.crud" });
    expect(version).toBeGreaterThan(changed!.version);
    expect((await ingest.readSchedules({ ids: ["s.crud"] })).schedules).toEqual([]);
    expect(await rejection(ingest.removeSchedule({ id: "s.crud" }))).toMatchObject({ code: Code.NotFound });
  });

  it("refuses a definition without spec, template or actor, storing nothing", async () => {
    for (const bad of [definition("s.bad", { spec: { case: undefined } }), definition("s.bad", { template: undefined }), definition("s.bad", { updatedBy: "" })]) {
      expect(await rejection(ingest.storeSchedule({ schedule: bad, create: true }))).toMatchObject({ code: Code.InvalidArgument });
    }
    expect((await ingest.readSchedules({ ids: ["s.bad"] })).schedules).toEqual([]);
  });

  it("pages all schedules by id, and moves a schedule's runs forward only", async () => {
    for (const id of ["p.a", "p.b", "p.c"]) await ingest.storeSchedule({ schedule: definition(id), create: true });
    const first = (await ingest.readSchedules({ afterId: "p.", pageSize: 2 })).schedules.map((s) => s.id);
    const rest = (await ingest.readSchedules({ afterId: first[1]!, pageSize: 2 })).schedules.map((s) => s.id).filter((id) => id.startsWith("p."));
    expect([...first, ...rest]).toEqual(["p.a", "p.b", "p.c"]);

    const [newer, older] = [uuidv7(), uuidv7()];
    const at = (ms: number) => timestampFromMs(Date.UTC(2031, 0, 1) + ms);
    await ingest.recordScheduleRuns({ runs: [{ scheduleId: "p.a", runAt: at(2_000), jobId: newer, nextRunAt: at(3_000) }] });
    // A run recorded late (an older tick) changes nothing.
    await ingest.recordScheduleRuns({ runs: [{ scheduleId: "p.a", runAt: at(1_000), jobId: older, nextRunAt: at(2_000) }] });
    const [a] = (await ingest.readSchedules({ ids: ["p.a"] })).schedules;
    expect(a).toMatchObject({ lastJobId: newer });
    expect(timestampMs(a!.lastRunAt!)).toBe(Date.UTC(2031, 0, 1) + 2_000);
    expect(timestampMs(a!.nextRunAt!)).toBe(Date.UTC(2031, 0, 1) + 3_000);
    expect(await rejection(ingest.recordScheduleRuns({ runs: [] }))).toMatchObject({ code: Code.InvalidArgument });
    expect(await rejection(ingest.recordScheduleRuns({ runs: [{ scheduleId: "p.a", runAt: at(5_000), jobId: "nope" }] }))).toMatchObject({ code: Code.InvalidArgument });
  });
});
