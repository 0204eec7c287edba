import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { JobTemplateSchema, OverlapPolicy, ScheduleSchema, type Schedule } from "@taskflow/proto";
import { describe, expect, it } from "vitest";
import { DEFAULT_CATCH_UP, fromStored, jobOfRun, parseScheduleRequest, toStored } from "./parse-schedule.js";
import { dueTicks, nextTick, parseCron, parseInterval } from "./schedule-spec.js";

const limits = { maxSubmitBatch: 100, maxPayloadBytes: 1_024, defaultTimeoutMs: 30_000, maxCatchUp: 10 };
const at = (iso: string) => Date.parse(iso);

const refused = (fn: () => unknown): ConnectError => {
  try {
    fn();
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected a refusal");
};

const request = (over: Partial<Schedule> = {}): Schedule => ({
  ...create(ScheduleSchema, { id: "nightly.report", spec: { case: "cron", value: "0 3 * * *" }, template: { type: "report.build" } }),
  ...over,
});

describe("cron and time zone", () => {
  it("reads 5 fields (minutes) and 6 (seconds first) in the time zone, across a DST change", () => {
    const berlin = parseCron("30 2 * * *", "Europe/Berlin");
    // 2026-03-29: Berlin springs forward at 02:00 to 03:00, so 02:30 does not exist that day.
    const before = nextTick(berlin, at("2026-03-27T12:00:00Z"))!;
    expect(new Date(before).toISOString()).toBe("2026-03-28T01:30:00.000Z");
    const afterJump = nextTick(berlin, at("2026-03-29T12:00:00Z"))!;
    expect(new Date(afterJump).toISOString()).toBe("2026-03-30T00:30:00.000Z");
    const everyTwoSeconds = parseCron("*/2 * * * * *", "");
    expect(everyTwoSeconds).toEqual({ kind: "cron", cron: "*/2 * * * * *", timeZone: "UTC" });
    expect(nextTick(everyTwoSeconds, at("2026-01-01T00:00:01.500Z"))).toBe(at("2026-01-01T00:00:02Z"));
  });

  it("refuses bad expressions, 7 fields, one that never fires, and an unknown zone, naming the field", () => {
    for (const cron of ["", "every day", "* * * *", "0 0 * * * * 2030", "61 * * * *", "0 0 31 2 *"]) {
      const err = refused(() => parseCron(cron, "UTC", "schedule."));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(/^schedule\.cron: /);
    }
    const zone = refused(() => parseCron("* * * * *", "Mars/Olympus", "schedule."));
    expect(zone.code).toBe(Code.InvalidArgument);
    expect(zone.rawMessage).toMatch(/^schedule\.time_zone: /);
  });
});

describe("interval", () => {
  it("takes 1 s to a year in whole ms, and ticks on the grid of its anchor", () => {
    const spec = parseInterval(1_000);
    expect(nextTick(spec, 10_500, 10_000)).toBe(11_000);
    expect(nextTick(spec, 11_000, 10_000)).toBe(12_000);
    for (const ms of [0, 999, 1_000.5, 366 * 86_400_000]) {
      expect(refused(() => parseInterval(ms, "schedule.")).rawMessage).toMatch(/^schedule\.interval: /);
    }
  });
});

describe("due ticks", () => {
  const second = parseInterval(1_000);

  it("fires the tick reached on time, and the newest catch_up of those missed beyond the misfire threshold", () => {
    expect(dueTicks(second, 10_000, 10_200, 1, 5_000)).toEqual({ fire: [10_000], skipped: 0, next: 11_000 });
    // Down from 10 s to 30.2 s: 21 ticks due, those within 5 s (26 s to 30 s) on time, of the rest the newest two.
    const late = dueTicks(second, 10_000, 30_200, 2, 5_000);
    expect(late.fire).toEqual([24_000, 25_000, 26_000, 27_000, 28_000, 29_000, 30_000]);
    expect(late.skipped).toBe(21 - 7);
    expect(late.next).toBe(31_000);
    expect(dueTicks(second, 10_000, 30_200, 0, 0)).toEqual({ fire: [], skipped: 21, next: 31_000 });
  });

  it("bounds a cron's catch-up the same way", () => {
    const minutely = parseCron("* * * * *", "UTC");
    const t0 = at("2026-01-01T00:00:00Z");
    const due = dueTicks(minutely, t0, t0 + 10 * 60_000 + 100, 3, 1_000);
    expect(due.fire).toEqual([7, 8, 9, 10].map((m) => t0 + m * 60_000));
    expect(due.next).toBe(t0 + 11 * 60_000);
  });
});

describe("schedule requests", () => {
  it("defaults queue, attempts, catch-up and overlap, and survives a round trip through history's form", () => {
    const def = parseScheduleRequest(request(), limits);
    expect(def).toMatchObject({ id: "nightly.report", overlap: "skip", catchUp: DEFAULT_CATCH_UP, template: { queue: "default", maxAttempts: 3, timeoutMs: 0 } });
    expect(fromStored(create(ScheduleSchema, toStored(def)))).toEqual(def);
    const run = jobOfRun(def, 5_000, "k", limits);
    expect(run).toMatchObject({ scheduleId: "nightly.report", runAtMs: 5_000, scheduledAtMs: 5_000, idempotencyKey: "k", timeoutMs: 30_000 });
  });

  it("refuses a bad id, spec, template, overlap or catch-up, naming the field", () => {
    const cases: [Partial<Schedule>, string][] = [
      [{ id: "no spaces" }, "schedule.id"],
      [{ spec: { case: undefined } }, "schedule.spec"],
      [{ spec: { case: "interval", value: durationFromMs(500) } }, "schedule.interval"],
      [{ spec: { case: "interval", value: durationFromMs(5_000) }, timeZone: "Europe/Berlin" }, "schedule.time_zone"],
      [{ template: undefined }, "schedule.template"],
      [{ template: create(JobTemplateSchema, { type: "" }) }, "schedule.template.type"],
      [{ template: create(JobTemplateSchema, { type: "t", priority: 1_001 }) }, "schedule.template.priority"],
      [{ overlapPolicy: 9 as OverlapPolicy }, "schedule.overlap_policy"],
      [{ catchUp: 11 }, "schedule.catch_up"],
    ];
    for (const [over, field] of cases) {
      const err = refused(() => parseScheduleRequest(request(over), limits));
      expect(err.code, field).toBe(Code.InvalidArgument);
      expect(err.rawMessage.startsWith(`${field}: `), err.rawMessage).toBe(true);
    }
    const big = refused(() => parseScheduleRequest(request({ template: create(JobTemplateSchema, { type: "t", payload: { x: "y".repeat(2_000) } }) }), limits));
    expect(big.code).toBe(Code.ResourceExhausted);
  });
});
