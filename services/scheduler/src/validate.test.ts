import { create, type JsonObject, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { SubmitJobRequestSchema, type SubmitJobRequest } from "@taskflow/proto";
import { describe, expect, it } from "vitest";
import { parseSubmitJob, parseSubmitJobs, type SubmitLimits } from "./validate.js";

type SubmitInit = MessageInitShape<typeof SubmitJobRequestSchema>;
const limits: SubmitLimits = { maxSubmitBatch: 3, maxPayloadBytes: 100, defaultTimeoutMs: 300_000 };
const NOW = Date.UTC(2025, 0, 1);
const YEAR_MS = 365 * 86_400_000;

/** {"a":{"a":...{}}}, `depth` objects deep. */
function nested(depth: number): JsonObject {
  let v: JsonObject = {};
  for (let i = 1; i < depth; i++) v = { a: v };
  return v;
}

const req = (init: SubmitInit = {}): SubmitJobRequest =>
  create(SubmitJobRequestSchema, { type: "email.send", payload: { to: "a@b.c" }, ...init });

function errorOf(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected a validation error");
}

describe("parseSubmitJob", () => {
  it("fills defaults and gives a UUIDv7 id", () => {
    const job = parseSubmitJob(req(), limits, NOW);
    expect(job).toMatchObject({
      type: "email.send", queue: "default", priority: 0, maxAttempts: 3, timeoutMs: 300_000,
      delayMs: 0, runAtMs: 0, scheduledAtMs: NOW, payloadJson: '{"to":"a@b.c"}',
    });
    expect(job.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("keeps explicit settings", () => {
    const job = parseSubmitJob(
      req({ queue: "q.1", priority: 1000, maxAttempts: 1, timeout: durationFromMs(1_000), idempotencyKey: "k" }),
      limits,
      NOW,
    );
    expect(job).toMatchObject({ queue: "q.1", priority: 1000, maxAttempts: 1, timeoutMs: 1_000, idempotencyKey: "k" });
  });

  it("turns delay and run_at into a schedule", () => {
    const delayed = parseSubmitJob(req({ schedule: { case: "delay", value: durationFromMs(5_000) } }), limits, NOW);
    expect(delayed).toMatchObject({ delayMs: 5_000, runAtMs: 0, scheduledAtMs: NOW + 5_000 });
    const at = parseSubmitJob(req({ schedule: { case: "runAt", value: timestampFromMs(NOW + 60_000) } }), limits, NOW);
    expect(at).toMatchObject({ delayMs: 0, runAtMs: NOW + 60_000 });
  });

  const bad: [string, SubmitInit, string][] = [
    ["an empty type", { type: "" }, "type"],
    ["a type with spaces", { type: "send email" }, "type"],
    ["a type of 129 characters", { type: "x".repeat(129) }, "type"],
    ["a queue with a slash", { queue: "a/b" }, "queue"],
    ["a negative priority", { priority: -1 }, "priority"],
    ["a priority over 1000", { priority: 1001 }, "priority"],
    ["zero max_attempts", { maxAttempts: 0 }, "max_attempts"],
    ["101 max_attempts", { maxAttempts: 101 }, "max_attempts"],
    ["a timeout under 1 s", { timeout: durationFromMs(999) }, "timeout"],
    ["a timeout over 24 h", { timeout: durationFromMs(86_400_001) }, "timeout"],
    ["a negative delay", { schedule: { case: "delay", value: durationFromMs(-1) } }, "delay"],
    ["a delay over a year", { schedule: { case: "delay", value: durationFromMs(YEAR_MS + 1) } }, "delay"],
    ["a run_at over a year ahead", { schedule: { case: "runAt", value: timestampFromMs(NOW + YEAR_MS + 1) } }, "run_at"],
    ["an idempotency key over 256 characters", { idempotencyKey: "k".repeat(257) }, "idempotency_key"],
    ["a NUL in a payload string", { payload: { a: ["ok", { b: "x\u0000y" }] } }, "payload.a[1].b"],
    ["a NUL in a payload key", { payload: { "a\u0000": 1 } }, "payload key"],
    ["a lone surrogate in a payload string", { payload: { a: "\uD800" } }, "payload.a"],
    ["a payload nested 33 levels deep", { payload: nested(33) }, "payload"],
    ["a NUL in the idempotency key", { idempotencyKey: "k\u0000" }, "idempotency_key"],
    ["a lone surrogate in the idempotency key", { idempotencyKey: "k\uDC00" }, "idempotency_key"],
  ];
  it.each(bad)("rejects %s", (_, init, field) => {
    const err = errorOf(() => parseSubmitJob(req(init), limits, NOW));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage.startsWith(`${field}:`)).toBe(true);
  });

  it("accepts a payload nested 32 levels deep and one exactly at the size limit", () => {
    const roomy = { ...limits, maxPayloadBytes: 1_000 };
    expect(JSON.parse(parseSubmitJob(req({ payload: nested(32) }), roomy, NOW).payloadJson)).toEqual(nested(32));
    const exact = { s: "x".repeat(limits.maxPayloadBytes - 8) };
    expect(parseSubmitJob(req({ payload: exact }), limits, NOW).payloadJson).toHaveLength(limits.maxPayloadBytes);
  });

  it("refuses a payload over the size limit with resource_exhausted", () => {
    const err = errorOf(() => parseSubmitJob(req({ payload: { s: "x".repeat(limits.maxPayloadBytes - 7) } }), limits, NOW));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toBe(`payload: must be at most ${limits.maxPayloadBytes} bytes as JSON, got ${limits.maxPayloadBytes + 1}`);
  });
});

describe("parseSubmitJobs", () => {
  it("names the index and field of the first bad job", () => {
    const err = errorOf(() => parseSubmitJobs([req(), req({ priority: 2000 })], limits, NOW));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/^jobs\[1\]\.priority:/);
  });

  it("rejects an empty batch and one over the limit", () => {
    expect(errorOf(() => parseSubmitJobs([], limits, NOW)).code).toBe(Code.InvalidArgument);
    expect(errorOf(() => parseSubmitJobs([req(), req(), req(), req()], limits, NOW)).rawMessage).toMatch(/^jobs:/);
  });

  it("gives every job its own increasing id", () => {
    const ids = parseSubmitJobs([req(), req(), req()], limits, NOW).map((j) => j.id);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(3);
  });
});
