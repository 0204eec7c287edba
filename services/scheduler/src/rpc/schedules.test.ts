import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { JobStatus, JobTemplateSchema, OverlapPolicy, type Schedule, ScheduleSchema } from "@taskflow/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../../test/stack.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});

/** A schedule that never ticks within a test (hourly), so only triggers submit its runs. */
const hourly = (id: string, over: Partial<Schedule> = {}): Schedule => ({
  ...create(ScheduleSchema, {
    id,
    spec: { case: "interval", value: durationFromMs(3_600_000) },
    template: { type: "t.sched", queue: "qs-rpc", payload: { n: 1 } },
  }),
  ...over,
});

const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => ConnectError.from(e));

describe("ScheduleService CRUD", () => {
  it("creates, reads, lists, updates, pauses, resumes and deletes, recording each change with its actor", async () => {
    const before = Date.now();
    const { schedule } = await s.schedules.createSchedule({
      schedule: hourly("crud.a", { spec: { case: "cron", value: "0 3 * * *" }, timeZone: "Europe/Berlin", overlapPolicy: OverlapPolicy.ALLOW, catchUp: 4 }),
    });
    expect(schedule).toMatchObject({ id: "crud.a", timeZone: "Europe/Berlin", overlapPolicy: OverlapPolicy.ALLOW, catchUp: 4, paused: false, createdBy: "api", updatedBy: "api" });
    expect(schedule!.template).toMatchObject({ type: "t.sched", queue: "qs-rpc", payload: { n: 1 }, maxAttempts: 3 });
    const next = timestampMs(schedule!.nextRunAt!);
    expect(next).toBeGreaterThan(before);
    expect(new Date(next).toLocaleTimeString("en-GB", { timeZone: "Europe/Berlin" })).toBe("03:00:00");
    expect((await s.schedules.getSchedule({ id: "crud.a" })).schedule).toEqual(schedule);
    expect(await refusal(s.schedules.createSchedule({ schedule: hourly("crud.a") }))).toMatchObject({ code: Code.AlreadyExists });

    for (const id of ["crud.b", "crud.c"]) await s.schedules.createSchedule({ schedule: hourly(id, { paused: true }) });
    const first = await s.schedules.listSchedules({ pageSize: 2 });
    const rest = await s.schedules.listSchedules({ pageSize: 2, pageToken: first.nextPageToken });
    expect([...first.schedules, ...rest.schedules].map((x) => x.id).filter((id) => id.startsWith("crud."))).toEqual(["crud.a", "crud.b", "crud.c"]);

    const updated = await s.schedules.updateSchedule({ schedule: hourly("crud.a", { spec: { case: "interval", value: durationFromMs(7_200_000) } }) });
    expect(updated.schedule).toMatchObject({ spec: { case: "interval" }, timeZone: "UTC", overlapPolicy: OverlapPolicy.SKIP, catchUp: 1 });
    expect(updated.schedule!.version).toBeGreaterThan(schedule!.version);

    const paused = await s.schedules.pauseSchedule({ id: "crud.a" });
    expect(paused.schedule!.paused).toBe(true);
    expect(paused.schedule!.nextRunAt).toBeUndefined();
    const resumedAt = Date.now();
    const resumed = await s.schedules.resumeSchedule({ id: "crud.a" });
    expect(resumed.schedule!.paused).toBe(false);
    expect(timestampMs(resumed.schedule!.nextRunAt!)).toBeGreaterThanOrEqual(resumedAt + 7_200_000 - 1_000);

    await s.schedules.deleteSchedule({ id: "crud.a" });
    expect(await refusal(s.schedules.getSchedule({ id: "crud.a" }))).toMatchObject({ code: Code.NotFound });
    expect(await refusal(s.schedules.deleteSchedule({ id: "crud.a" }))).toMatchObject({ code: Code.NotFound });
    // Redis fires it no more.
    expect(await s.redis.zscore(`${s.config.redisKeyPrefix}:{~schedules}:due`, "crud.a")).toBeNull();

    const { actions } = await s.history.listOperatorActions({ target: "schedule:crud.a" });
    expect(actions.map((a) => [a.action, a.actor])).toEqual([
      ["schedule.delete", "api"],
      ["schedule.resume", "api"],
      ["schedule.pause", "api"],
      ["schedule.update", "api"],
      ["schedule.create", "api"],
    ]);
  });

  it("refuses bad input with invalid_argument naming the field, and stores nothing", async () => {
    const cases: [Schedule, string][] = [
      [hourly("bad id"), "schedule.id"],
      [hourly("bad.cron", { spec: { case: "cron", value: "61 * * * *" } }), "schedule.cron"],
      [hourly("bad.tz", { spec: { case: "cron", value: "* * * * *" }, timeZone: "Nowhere/Land" }), "schedule.time_zone"],
      [hourly("bad.interval", { spec: { case: "interval", value: durationFromMs(10) } }), "schedule.interval"],
      [hourly("bad.type", { template: create(JobTemplateSchema, { type: "has space" }) }), "schedule.template.type"],
      [hourly("bad.catchup", { catchUp: 1_000 }), "schedule.catch_up"],
    ];
    for (const [schedule, field] of cases) {
      const err = await refusal(s.schedules.createSchedule({ schedule }));
      expect(err, field).toMatchObject({ code: Code.InvalidArgument });
      expect(err!.rawMessage.startsWith(`${field}: `), err!.rawMessage).toBe(true);
    }
    expect(await refusal(s.schedules.updateSchedule({ schedule: hourly("bad.none") }))).toMatchObject({ code: Code.NotFound });
    expect(await refusal(s.schedules.listSchedules({ pageToken: "!!" }))).toMatchObject({ code: Code.InvalidArgument });
    const ids = (await s.schedules.listSchedules({ pageSize: 500 })).schedules.map((x) => x.id);
    expect(ids.filter((id) => id.startsWith("bad"))).toEqual([]);
  });
});

describe("UpdateSchedule with the version it was made from", () => {
  it("applies an update made from the current version, and refuses one made from an older version, changing nothing", async () => {
    const { schedule: created } = await s.schedules.createSchedule({ schedule: hourly("ver.a") });
    const fromCreated = await s.schedules.updateSchedule({
      schedule: hourly("ver.a", { spec: { case: "interval", value: durationFromMs(7_200_000) } }),
      expectedVersion: created!.version,
    });
    expect(fromCreated.schedule!.version).toBeGreaterThan(created!.version);

    // A second editor still holding the version it read before that update.
    const stale = await refusal(
      s.schedules.updateSchedule({ schedule: hourly("ver.a", { template: create(JobTemplateSchema, { type: "t.other" }) }), expectedVersion: created!.version }),
    );
    expect(stale).toMatchObject({ code: Code.FailedPrecondition });
    expect(stale!.rawMessage).toBe(`schedule ver.a is at version ${fromCreated.schedule!.version}, not ${created!.version}: it changed since it was read; read it again`);
    const now = (await s.schedules.getSchedule({ id: "ver.a" })).schedule!;
    expect(now.version).toBe(fromCreated.schedule!.version);
    expect(now.template!.type).toBe("t.sched");
    expect(now.spec).toEqual({ case: "interval", value: durationFromMs(7_200_000) });

    const negative = await refusal(s.schedules.updateSchedule({ schedule: hourly("ver.a"), expectedVersion: -1n }));
    expect(negative).toMatchObject({ code: Code.InvalidArgument });
    expect(negative!.rawMessage).toBe("expected_version: must not be negative");
    // Only the create and the one update that happened are in the trail.
    const { actions } = await s.history.listOperatorActions({ target: "schedule:ver.a" });
    expect(actions.map((a) => a.action)).toEqual(["schedule.update", "schedule.create"]);
    await s.schedules.deleteSchedule({ id: "ver.a" });
  });
});

describe("TriggerSchedule and the overlap policies", () => {
  const trigger = async (id: string, requestId = "") => s.schedules.triggerSchedule({ id, requestId });
  const statusOf = async (id: string) => (await s.history.getJob({ id })).job!.status;

  it("SKIP submits no run while the previous one is pending, and one again once it finished", async () => {
    await s.schedules.createSchedule({ schedule: hourly("ov.skip", { paused: true }) });
    const first = await trigger("ov.skip");
    expect(first.job).toMatchObject({ scheduleId: "ov.skip", type: "t.sched", status: JobStatus.PENDING });
    expect((await trigger("ov.skip")).job).toBeUndefined();
    const { jobs } = await s.worker.leaseJobs({ workerId: "w-skip", queues: ["qs-rpc"], maxJobs: 1 });
    expect(jobs[0]!.job!.id).toBe(first.job!.id);
    await s.worker.reportJobs({
      workerId: "w-skip",
      reports: [{ lease: { jobId: first.job!.id, queue: "qs-rpc", leaseToken: jobs[0]!.leaseToken }, outcome: { case: "completed", value: {} } }],
    });
    const second = await trigger("ov.skip");
    expect(second.job!.id).not.toBe(first.job!.id);
    const got = await s.schedules.getSchedule({ id: "ov.skip" });
    expect(got.schedule!.lastJobId).toBe(second.job!.id);
  });

  it("CANCEL_PREVIOUS cancels the pending run first; ALLOW runs beside it; a request id answers the same job", async () => {
    await s.schedules.createSchedule({ schedule: hourly("ov.cancel", { paused: true, overlapPolicy: OverlapPolicy.CANCEL_PREVIOUS }) });
    const first = await trigger("ov.cancel");
    const second = await trigger("ov.cancel");
    expect(second.cancelledJobId).toBe(first.job!.id);
    await expect.poll(() => statusOf(first.job!.id)).toBe(JobStatus.CANCELLED);
    expect(await statusOf(second.job!.id)).toBe(JobStatus.PENDING);

    await s.schedules.createSchedule({ schedule: hourly("ov.allow", { paused: true, overlapPolicy: OverlapPolicy.ALLOW }) });
    const a = await trigger("ov.allow", "req-1");
    const again = await trigger("ov.allow", "req-1");
    const b = await trigger("ov.allow", "req-2");
    expect(again.job!.id).toBe(a.job!.id);
    expect(b.job!.id).not.toBe(a.job!.id);
    const runs = await s.history.listJobs({ scheduleId: "ov.allow" });
    expect(runs.jobs.map((j) => j.id).sort()).toEqual([a.job!.id, b.job!.id].sort());
    expect(await refusal(trigger("ov.none"))).toMatchObject({ code: Code.NotFound });
    expect(await refusal(trigger("ov.allow", "bad request id"))).toMatchObject({ code: Code.InvalidArgument });
  });
});
