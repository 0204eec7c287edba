import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "@taskflow/proto/gen/grpc/health/v1/health_pb";
import { randomKeyPrefix, startTcpProxy, testRedisUrl } from "@taskflow/testkit";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deadUrl, jobKeys, startStack, type Stack } from "../test/stack.js";
import { loadConfig } from "./config.js";
import { startScheduler } from "./start-scheduler.js";

const logger = pino({ level: "silent" });
/**
 * How soon a call must fail once Redis is gone, in ms: the scheduler's 1 s Redis command
 * timeout, which bounds it, plus room for a loaded machine, and half the deadline below.
 */
const FAIL_FAST_BOUND_MS = 5_000;
/** The deadline of that call, in ms. */
const CALL_DEADLINE_MS = 10_000;

describe("startScheduler with history unreachable", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ historyUrl: await deadUrl() });
  });
  afterAll(async () => {
    await s.close();
  });

  it("refuses a submit with unavailable and enqueues nothing", async () => {
    const err = await s.scheduler.submitJob({ type: "t.x", queue: "down" }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toMatchObject({ code: Code.Unavailable });
    expect(await jobKeys(s)).toEqual([]);
  });

  it("still answers heartbeats when presence cannot be recorded", async () => {
    const res = await s.worker.heartbeat({ workerId: "w1", leases: [] });
    expect(res.leases).toEqual([]);
  });
});

describe("health and shutdown", () => {
  it("is SERVING with its stores up and NOT_SERVING when history is down", async () => {
    const up = await startStack();
    const down = await startStack({ historyUrl: await deadUrl() });
    try {
      expect(await healthOf(up.url)).toBe(HealthCheckResponse_ServingStatus.SERVING);
      expect(await healthOf(down.url)).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
    } finally {
      await Promise.all([up.close(), down.close()]);
    }
  });

  it("answers a pending long poll when it closes", async () => {
    const s = await startStack();
    const waiting = s.logged("lease poll waiting");
    const poll = s.worker.leaseJobs({ workerId: "w1", queues: ["bye"], maxJobs: 1, wait: durationFromMs(60_000) });
    await waiting;
    const started = Date.now();
    await s.close();
    await poll.then(
      (res) => expect(res.jobs).toEqual([]),
      (err: unknown) => expect(ConnectError.from(err).code).toBe(Code.Unavailable),
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("fails fast with unavailable, and reports NOT_SERVING, once Redis goes away", async () => {
    const proxy = await startTcpProxy(testRedisUrl());
    const s = await startStack({ env: { REDIS_URL: proxy.url } });
    try {
      await s.scheduler.submitJob({ type: "t.x", queue: "cut" });
      proxy.partition();
      const started = Date.now();
      // A call held until Redis came back would run into this deadline (deadline_exceeded).
      const err = await s.worker
        .leaseJobs({ workerId: "w1", queues: ["cut"], maxJobs: 1 }, { timeoutMs: CALL_DEADLINE_MS })
        .catch((e: unknown) => ConnectError.from(e));
      expect(err).toMatchObject({ code: Code.Unavailable });
      expect(Date.now() - started).toBeLessThan(FAIL_FAST_BOUND_MS);
      expect(await healthOf(s.url)).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
    } finally {
      await s.close();
      await proxy.close();
    }
  });

  it("fails to start when Redis is unreachable", async () => {
    const config = loadConfig({
      SCHEDULER_PORT: "0",
      REDIS_URL: (await deadUrl()).replace("http", "redis"),
      REDIS_KEY_PREFIX: randomKeyPrefix(),
      HISTORY_URL: await deadUrl(),
    });
    // ioredis's own words for a connection that never opened (not an eviction check, nor a port).
    await expect(startScheduler(config, { logger })).rejects.toThrow("Connection is closed.");
  });
});

async function healthOf(url: string): Promise<HealthCheckResponse_ServingStatus> {
  const client = createClient(Health, createGrpcTransport({ baseUrl: url }));
  return (await client.check({ service: "" })).status;
}
