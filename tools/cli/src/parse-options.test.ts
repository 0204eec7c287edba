import { InvalidArgumentError } from "commander";
import { JobStatus, WorkerStatus } from "@taskflow/proto";
import { describe, expect, it } from "vitest";
import { UsageError } from "./errors.js";
import {
  collect,
  collectJobStatuses,
  collectWorkerStatuses,
  durationMs,
  integerIn,
  jsonObject,
  pointInTime,
  timeWindow,
  toJobFilter,
  toQueueLimits,
  parentFailure,
  toSubmitInput,
} from "./parse-options.js";

describe("option values", () => {
  it("reads whole numbers within bounds only", () => {
    expect(integerIn(0, 1000)("7")).toBe(7);
    for (const bad of ["-1", "1001", "1.5", "ten", ""]) expect(() => integerIn(0, 1000)(bad)).toThrow(InvalidArgumentError);
  });

  it("reads durations as milliseconds", () => {
    expect(durationMs("2m")).toBe(120_000);
    expect(() => durationMs("soon")).toThrow(/500ms, 5s/);
  });

  it("reads ISO times, and durations as that long ago", () => {
    expect(pointInTime("2025-01-31T12:00:00Z").toISOString()).toBe("2025-01-31T12:00:00.000Z");
    expect(pointInTime("2h", () => 10_000_000).getTime()).toBe(10_000_000 - 7_200_000);
    for (const bad of ["yesterday", "12:00", "2025-13-45"]) expect(() => pointInTime(bad)).toThrow(InvalidArgumentError);
  });

  it("reads JSON objects only", () => {
    expect(jsonObject('{"a":{"b":1}}')).toEqual({ a: { b: 1 } });
    for (const bad of ["[1]", "3", "null", "{a:1}"]) expect(() => jsonObject(bad)).toThrow(InvalidArgumentError);
  });

  it("collects repeated and comma-separated values", () => {
    expect(collect("b, c", collect("a"))).toEqual(["a", "b", "c"]);
    expect(() => collect(",")).toThrow(InvalidArgumentError);
  });

  it("reads status names in any case", () => {
    expect(collectJobStatuses("failed,CANCELLED", collectJobStatuses("pending"))).toEqual([JobStatus.PENDING, JobStatus.FAILED, JobStatus.CANCELLED]);
    expect(() => collectJobStatuses("done")).toThrow(/unknown status "done"; one of pending, processing, completed, failed, cancelled/);
    expect(collectWorkerStatuses("healthy,stale")).toEqual([WorkerStatus.HEALTHY, WorkerStatus.STALE]);
    expect(() => collectWorkerStatuses("unspecified")).toThrow(InvalidArgumentError);
  });
});

describe("toJobFilter", () => {
  it("maps every list option to the client's filter", () => {
    const from = new Date("2025-01-01T00:00:00Z");
    const to = new Date("2025-02-01T00:00:00Z");
    expect(
      toJobFilter({
        status: [JobStatus.FAILED],
        type: ["email.send"],
        queue: ["default", "mail"],
        worker: "w-1",
        createdFrom: from,
        finishedTo: to,
        payloadContains: { customer: { id: 42 } },
        text: "timeout",
        attemptsAbove: 2,
        oldest: true,
        limit: 20,
      }),
    ).toEqual({
      statuses: [JobStatus.FAILED],
      types: ["email.send"],
      queues: ["default", "mail"],
      workerId: "w-1",
      created: { from, to: undefined },
      finished: { from: undefined, to },
      payloadContains: { customer: { id: 42 } },
      text: "timeout",
      attemptsAbove: 2,
      order: "oldest",
      pageSize: 20,
    });
  });

  it("leaves unused ranges out, lists newest first, and caps the page at 500", () => {
    const filter = toJobFilter({ limit: 5000 });
    expect(filter).toMatchObject({ created: undefined, finished: undefined, order: "newest", pageSize: 500 });
  });
});

describe("toSubmitInput", () => {
  it("maps the submit options", () => {
    expect(
      toSubmitInput("echo", { payload: { a: 1 }, queue: "q", priority: 5, delay: 5000, maxAttempts: 3, timeout: 30_000, idempotencyKey: "k" }),
    ).toEqual({ type: "echo", payload: { a: 1 }, queue: "q", priority: 5, delayMs: 5000, runAt: undefined, maxAttempts: 3, timeoutMs: 30_000, idempotencyKey: "k" });
  });

  it("refuses --delay with --run-at", () => {
    expect(() => toSubmitInput("echo", { delay: 1, runAt: new Date() })).toThrow(UsageError);
  });

  it("passes --depends-on and --on-parent-failure on", () => {
    const ids = collect("018f0000-0000-7000-8000-000000000002", collect("018f0000-0000-7000-8000-000000000001"));
    expect(toSubmitInput("echo", { dependsOn: ids, onParentFailure: parentFailure("run") })).toMatchObject({
      dependsOn: ["018f0000-0000-7000-8000-000000000001", "018f0000-0000-7000-8000-000000000002"],
      onParentFailure: "run",
    });
    expect(() => parentFailure("ignore")).toThrow(InvalidArgumentError);
  });
});

describe("timeWindow", () => {
  const now = Date.parse("2025-06-01T12:00:00Z");
  const at = (iso: string) => new Date(iso);

  it("is the default span ending now without options", () => {
    expect(timeWindow({}, 3_600_000, now)).toEqual({ from: at("2025-06-01T11:00:00Z"), to: at("2025-06-01T12:00:00Z") });
  });

  it("ends --last now, and --from alone now", () => {
    expect(timeWindow({ last: 86_400_000 }, 1, now).from).toEqual(at("2025-05-31T12:00:00Z"));
    expect(timeWindow({ from: at("2025-06-01T00:00:00Z") }, 1, now)).toEqual({ from: at("2025-06-01T00:00:00Z"), to: at("2025-06-01T12:00:00Z") });
  });

  it("refuses clashing or empty windows", () => {
    expect(() => timeWindow({ last: 1000, from: at("2025-06-01T00:00:00Z") }, 1, now)).toThrow(/--last cannot/);
    expect(() => timeWindow({ to: at("2025-06-01T00:00:00Z") }, 1, now)).toThrow(/--to needs --from/);
    expect(() => timeWindow({ from: at("2025-06-02T00:00:00Z"), to: at("2025-06-01T00:00:00Z") }, 1, now)).toThrow(/after --from/);
  });
});

describe("toQueueLimits", () => {
  it("sets the named limits", () => {
    expect(toQueueLimits({ maxRunning: 5 })).toEqual({ maxRunning: 5, maxStarts: undefined, perMs: undefined });
    expect(toQueueLimits({ maxStarts: 10, per: 1000 })).toEqual({ maxRunning: undefined, maxStarts: 10, perMs: 1000 });
  });

  it("clears every limit with --clear", () => expect(toQueueLimits({ clear: true })).toEqual({}));

  it("refuses what cannot be meant", () => {
    expect(() => toQueueLimits({})).toThrow(UsageError);
    expect(() => toQueueLimits({ maxStarts: 10 })).toThrow(/go together/);
    expect(() => toQueueLimits({ per: 1000 })).toThrow(/go together/);
    expect(() => toQueueLimits({ clear: true, maxRunning: 1 })).toThrow(/--clear/);
  });
});
