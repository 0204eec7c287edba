import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "@taskflow/proto/gen/grpc/health/v1/health_pb";
import { randomKeyPrefix, startPrivateRedis, type PrivateRedis } from "@taskflow/testkit";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deadUrl, startStack } from "../test/stack.js";
import { loadConfig } from "./config.js";
import { EvictionPolicyError } from "./redis/check-eviction-policy.js";
import { startScheduler } from "./start-scheduler.js";

/** The SHA1 Redis caches `name` under: its source as scripts.ts sends it, the shared helpers first. */
function scriptSha(name: string): string {
  const read = (file: string): string => readFileSync(new URL(`./redis/scripts/${file}`, import.meta.url), "utf8");
  return createHash("sha1").update(`${read("include/common.lua")}\n${read(`${name}.lua`)}`).digest("hex");
}

/** A logger whose lines are kept, to read what start-up warned about. */
function capture(): { logger: pino.Logger; lines: { msg?: string; level?: number }[] } {
  const lines: { msg?: string; level?: number }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line) as { msg?: string });
      done();
    },
  });
  return { logger: pino({ level: "info" }, sink), lines };
}

async function configFor(redisUrl: string, env: Record<string, string> = {}) {
  return loadConfig({
    SCHEDULER_PORT: "0",
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: randomKeyPrefix(),
    HISTORY_URL: await deadUrl(),
    ...env,
  });
}

describe("Redis eviction policy at start-up", () => {
  let lru: PrivateRedis;
  let noConfig: PrivateRedis;
  beforeAll(async () => {
    [lru, noConfig] = await Promise.all([
      startPrivateRedis(["--maxmemory-policy", "allkeys-lru"]),
      startPrivateRedis(["--rename-command", "CONFIG", ""]),
    ]);
  });
  afterAll(async () => {
    await Promise.all([lru?.stop(), noConfig?.stop()]);
  });

  it("refuses to start against a Redis that may evict keys, saying how to fix it", async () => {
    const { logger } = capture();
    const err = await startScheduler(await configFor(lru.url), { logger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EvictionPolicyError);
    expect((err as Error).message).toMatch(/allkeys-lru.*noeviction.*REDIS_ALLOW_EVICTION=true/s);
  });

  it("starts with a loud warning when REDIS_ALLOW_EVICTION=true", async () => {
    const { logger, lines } = capture();
    const sched = await startScheduler(await configFor(lru.url, { REDIS_ALLOW_EVICTION: "true" }), { logger });
    await sched.close();
    expect(lines.find((l) => l.msg?.startsWith("REDIS MAY EVICT KEYS"))).toMatchObject({ level: 40 });
  });

  it("starts with a warning when Redis does not allow CONFIG", async () => {
    const { logger, lines } = capture();
    const sched = await startScheduler(await configFor(noConfig.url), { logger });
    await sched.close();
    expect(lines.map((l) => l.msg)).toContain("redis eviction policy not checked: CONFIG GET refused");
  });
});

describe("health after the script cache is flushed", () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it("runs a real script, stays SERVING and keeps serving calls", async () => {
    // Scripts as deployed (not rewritten to check their keys), whose digests are known here.
    const s = await startStack({ env: { REDIS_URL: redis.url, REDIS_CHECK_SCRIPT_KEYS: "false" } });
    const admin = new Redis(redis.url);
    try {
      const health = createClient(Health, createGrpcTransport({ baseUrl: s.url }));
      // The health check's own script (the read of due delayed jobs of a queue no job can use):
      // the loops run others (the reconciler's), and none runs this one, as no queue exists yet
      // for them to sweep.
      const healthScript = scriptSha("find-due");
      await admin.script("FLUSH");
      expect(await admin.script("EXISTS", healthScript)).toEqual([0]);
      expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      expect(await admin.script("EXISTS", healthScript)).toEqual([1]);

      await admin.script("FLUSH");
      const { job } = await s.scheduler.submitJob({ type: "t.x", queue: "flushed" });
      await admin.script("FLUSH");
      const { jobs } = await s.worker.leaseJobs({ workerId: "w1", queues: ["flushed"], maxJobs: 1 });
      expect(jobs.map((j) => j.job?.id)).toEqual([job!.id]);
      await admin.script("FLUSH");
      expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      admin.disconnect();
      await s.close();
    }
  });
});
