import { ConfigError } from "@taskflow/service-kit";
import { describe, expect, it } from "vitest";
import { loadConfig, redisTargetOf } from "./config.js";

describe("loadConfig", () => {
  it("uses the documented defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      host: "127.0.0.1", port: 50051, redisUrl: "redis://127.0.0.1:6379", redisKeyPrefix: "tf",
      historyUrl: "http://127.0.0.1:50054", leaseMs: 30_000, sweepIntervalMs: 1_000, promoteSweepIntervalMs: 5_000,
      defaultTimeoutMs: 300_000,
      maxSubmitBatch: 1_000, maxPayloadBytes: 1_048_576, retryBaseMs: 1_000, retryMaxMs: 3_600_000,
      outboxBatchSize: 500, logLevel: "info", faultCrashAfterHistoryCommit: false,
      secretPayloadKeys: ["authorization", "password", "passwd", "secret", "token", "api_key", "apikey", "private_key", "cookie", "credential"],
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("reads every variable", () => {
    const c = loadConfig({ SCHEDULER_PORT: "0", REDIS_KEY_PREFIX: "x", LEASE_MS: "5000", OUTBOX_BATCH_SIZE: "10", PROMOTE_SWEEP_INTERVAL_MS: "60000", SECRET_PAYLOAD_KEYS: "iban" });
    expect(c).toMatchObject({ port: 0, redisKeyPrefix: "x", leaseMs: 5_000, outboxBatchSize: 10, promoteSweepIntervalMs: 60_000, secretPayloadKeys: ["iban"] });
  });

  it("switches the testing-only crash point on with FAULT_CRASH_AFTER_HISTORY_COMMIT=true only", () => {
    expect(loadConfig({ FAULT_CRASH_AFTER_HISTORY_COMMIT: "true" }).faultCrashAfterHistoryCommit).toBe(true);
    expect(loadConfig({ FAULT_CRASH_AFTER_HISTORY_COMMIT: "false" }).faultCrashAfterHistoryCommit).toBe(false);
    expect(() => loadConfig({ FAULT_CRASH_AFTER_HISTORY_COMMIT: "yes" })).toThrow(/FAULT_CRASH_AFTER_HISTORY_COMMIT/);
  });

  it("reads a Redis Cluster's seed nodes from REDIS_CLUSTER_NODES", () => {
    expect(loadConfig({}).redisClusterNodes).toEqual([]);
    const c = loadConfig({ REDIS_CLUSTER_NODES: "10.0.0.1:7000, redis-1 ,rediss://user:p%40ss@redis-2:7001" });
    expect(c.redisClusterNodes).toEqual([
      { host: "10.0.0.1", port: 7000, username: undefined, password: undefined, tls: false },
      { host: "redis-1", port: 6379, username: undefined, password: undefined, tls: false },
      { host: "redis-2", port: 7001, username: "user", password: "p@ss", tls: true },
    ]);
    expect(redisTargetOf(c)).toEqual({ clusterNodes: c.redisClusterNodes });
    expect(redisTargetOf(loadConfig({}))).toEqual({ url: "redis://127.0.0.1:6379" });
  });

  it("prefers REDIS_CLUSTER_NODES to REDIS_URL, and refuses a bad node and a key prefix with braces", () => {
    const problems = (env: Record<string, string>): string[] => {
      try {
        loadConfig(env);
      } catch (err) {
        return (err as ConfigError).problems.slice();
      }
      return [];
    };
    expect(redisTargetOf(loadConfig({ REDIS_URL: "redis://a:6379", REDIS_CLUSTER_NODES: "b:7000" }))).toMatchObject({
      clusterNodes: [{ host: "b", port: 7000 }],
    });
    expect(problems({ REDIS_CLUSTER_NODES: "http://b:7000" })).toEqual(["REDIS_CLUSTER_NODES: each node url must be redis:// or rediss://"]);
    expect(problems({ REDIS_CLUSTER_NODES: "redis://b:7000/2" })).toEqual(["REDIS_CLUSTER_NODES: a cluster has database 0 only"]);
    expect(problems({ REDIS_CLUSTER_NODES: "b:port" })).toEqual(["REDIS_CLUSTER_NODES: each node must be host:port or a redis:// url"]);
    expect(problems({ REDIS_KEY_PREFIX: "tf{x}" })).toEqual([
      "REDIS_KEY_PREFIX: must not hold { or } (the queue in braces is the key's hash tag)",
    ]);
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
