import { ConfigError } from "@taskflow/service-kit";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("uses the documented defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      host: "127.0.0.1", port: 50051, redisUrl: "redis://127.0.0.1:6379", redisKeyPrefix: "tf",
      historyUrl: "http://127.0.0.1:50052", leaseMs: 30_000, sweepIntervalMs: 1_000, promoteSweepIntervalMs: 5_000,
      defaultTimeoutMs: 300_000,
      maxSubmitBatch: 1_000, maxPayloadBytes: 1_048_576, retryBaseMs: 1_000, retryMaxMs: 3_600_000,
      outboxBatchSize: 500, logLevel: "info", faultCrashAfterHistoryCommit: false,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("reads every variable", () => {
    const c = loadConfig({ SCHEDULER_PORT: "0", REDIS_KEY_PREFIX: "x", LEASE_MS: "5000", OUTBOX_BATCH_SIZE: "10", PROMOTE_SWEEP_INTERVAL_MS: "60000" });
    expect(c).toMatchObject({ port: 0, redisKeyPrefix: "x", leaseMs: 5_000, outboxBatchSize: 10, promoteSweepIntervalMs: 60_000 });
  });

  it("switches the testing-only crash point on with FAULT_CRASH_AFTER_HISTORY_COMMIT=true only", () => {
    expect(loadConfig({ FAULT_CRASH_AFTER_HISTORY_COMMIT: "true" }).faultCrashAfterHistoryCommit).toBe(true);
    expect(loadConfig({ FAULT_CRASH_AFTER_HISTORY_COMMIT: "false" }).faultCrashAfterHistoryCommit).toBe(false);
    expect(() => loadConfig({ FAULT_CRASH_AFTER_HISTORY_COMMIT: "yes" })).toThrow(/FAULT_CRASH_AFTER_HISTORY_COMMIT/);
  });

  it("reports every bad variable at once", () => {
    let err: unknown;
    try {
      loadConfig({ SCHEDULER_PORT: "http", LEASE_MS: "-1", REDIS_URL: "not a url" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    for (const name of ["SCHEDULER_PORT", "LEASE_MS", "REDIS_URL"]) expect(message).toContain(name);
  });
});
