import { createClient } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { SchedulerService } from "@taskflow/proto";
import { Redis } from "ioredis";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { spawnTestStack, type TestStack } from "./spawn-test-stack.js";
import { testDatabaseAdminUrl } from "./stores.js";

/** Submits one job through `url`, over a connection of its own; resolves to its id. */
async function submitThrough(url: string): Promise<string> {
  const sessions = new Http2SessionManager(url);
  try {
    const scheduler = createClient(SchedulerService, createGrpcTransport({ baseUrl: url, sessionManager: sessions }));
    const { job } = await scheduler.submitJob({ type: "t.x", queue: "kit" }, { timeoutMs: 10_000 });
    return job!.id;
  } finally {
    sessions.abort();
  }
}

/** Whether the stack's database exists, and how many Redis keys carry its prefix. */
async function leftovers(stack: TestStack): Promise<{ database: boolean; keys: number }> {
  const admin = new pg.Client({ connectionString: testDatabaseAdminUrl() });
  const redis = new Redis(stack.redisUrl);
  await admin.connect();
  try {
    const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [stack.db.name]);
    return { database: rowCount === 1, keys: (await redis.keys(`${stack.keyPrefix}:*`)).length };
  } finally {
    await admin.end();
    redis.disconnect();
  }
}

describe("spawnTestStack", () => {
  it("runs each group's replicas behind its balancer, on a database and key prefix of its own that stop() removes", async () => {
    const stack = await spawnTestStack({ schedulers: 2, histories: 1, worker: false });
    try {
      expect(stack.schedulers.map((s) => s.name)).toEqual(["scheduler-1", "scheduler-2"]);
      expect(stack.histories.map((s) => s.name)).toEqual(["history"]);
      expect(stack.schedulerUrl).toBe(stack.balancers.scheduler.url);
      expect(stack.historyUrl).toBe(stack.balancers.history.url);
      expect(stack.workers).toEqual([]);
      // The balancer hands one connection to each replica in turn.
      await submitThrough(stack.schedulerUrl);
      await submitThrough(stack.schedulerUrl);
      expect(stack.balancers.scheduler.handed).toEqual([1, 1]);
      expect(await leftovers(stack)).toMatchObject({ database: true });
      expect((await leftovers(stack)).keys).toBeGreaterThan(0);
    } finally {
      await stack.stop();
    }
    expect([...stack.schedulers, ...stack.histories].map((s) => s.exited)).toEqual([true, true, true]);
    expect(await leftovers(stack)).toEqual({ database: false, keys: 0 });
  });

  it("direct: services and clients call the one replica of each group past its balancer", async () => {
    const stack = await spawnTestStack({ schedulers: 1, histories: 1, direct: true, worker: { WORKER_CONCURRENCY: "1" } });
    try {
      expect(stack.schedulerUrl).toBe(stack.scheduler.url);
      expect(stack.historyUrl).toBe(stack.history.url);
      expect(stack.workers.map((w) => w.name)).toEqual(["worker"]);
      await submitThrough(stack.schedulerUrl);
      // Neither the client, the worker nor the scheduler went through a balancer.
      expect(stack.balancers.scheduler.handed).toEqual([0]);
      expect(stack.balancers.history.handed).toEqual([0]);
    } finally {
      await stack.stop();
    }
  });
});
