import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { freePort } from "./free-port.js";
import { spawnService } from "./spawn-service.js";
import { startStack } from "./start-stack.js";

const fake = fileURLToPath(new URL("../test/fixtures/fake-service.mjs", import.meta.url));
// The stand-ins never connect; the stores' urls only have to reach them intact.
const testDatabaseUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const testRedisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const envOf = async (url: string) => (await (await fetch(url)).json()) as Record<string, string>;

describe("startStack", () => {
  it("wires each service to the stores and to the services it needs, and stops the dashboard, then the worker, first", async () => {
    const stack = await startStack({
      ports: { scheduler: 0, worker: 0 },
      env: { HISTORY_PORT: "0", DASHBOARD_PORT: "0", DATABASE_URL: testDatabaseUrl, REDIS_URL: testRedisUrl },
      entries: { history: fake, scheduler: fake, worker: fake, dashboard: fake },
      dashboard: true,
    });
    const exits: string[] = [];
    for (const service of stack.services) service.child.once("exit", () => exits.push(service.name));
    try {
      expect(stack.services.map((s) => s.name)).toEqual(["history", "scheduler", "worker", "dashboard"]);
      expect(stack.urls.dashboard).toBe(stack.dashboard?.url);
      const [history, scheduler, worker, dashboard] = await Promise.all(
        [stack.urls.history, stack.urls.scheduler, stack.urls.worker!, stack.urls.dashboard!].map(envOf),
      );
      expect(stack.postgres.url).toBe(testDatabaseUrl);
      expect(history).toMatchObject({ HISTORY_PORT: "0", HISTORY_INTERNAL_PORT: "0", DATABASE_URL: testDatabaseUrl });
      // The scheduler writes to history's internal listener; the dashboard reads its public one.
      expect(stack.history.internalUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(stack.history.internalUrl).not.toBe(stack.urls.history);
      expect(scheduler).toMatchObject({
        SCHEDULER_PORT: "0",
        REDIS_URL: stack.redis.url,
        HISTORY_URL: stack.history.internalUrl,
      });
      expect(worker).toMatchObject({ WORKER_PORT: "0", SCHEDULER_URL: stack.urls.scheduler });
      expect(dashboard).toMatchObject({ DASHBOARD_PORT: "0", SCHEDULER_URL: stack.urls.scheduler, HISTORY_URL: stack.urls.history });
    } finally {
      await stack.stop();
    }
    expect(exits).toEqual(["dashboard", "worker", "scheduler", "history"]);
  });

  it("starts no dashboard unless asked", async () => {
    const stack = await startStack({
      ports: { history: 0, scheduler: 0 },
      env: { DATABASE_URL: testDatabaseUrl, REDIS_URL: testRedisUrl },
      entries: { history: fake, scheduler: fake },
      workers: 0,
    });
    try {
      expect(stack.dashboard).toBeUndefined();
      expect(stack.urls.dashboard).toBeUndefined();
      expect(stack.services.map((s) => s.name)).toEqual(["history", "scheduler"]);
    } finally {
      await stack.stop();
    }
  });

  it("stops the services already started when a later one fails", async () => {
    const historyPort = await freePort();
    const failing = startStack({
      ports: { history: historyPort },
      env: { DATABASE_URL: testDatabaseUrl, REDIS_URL: testRedisUrl },
      entries: { history: fake, scheduler: join(tmpdir(), "no-such-service.js") },
    });
    await expect(failing).rejects.toThrow(/^scheduler: .*no-such-service.js does not exist/);
    // History was stopped: nothing listens on its port any more.
    await expect(fetch(`http://127.0.0.1:${historyPort}`)).rejects.toMatchObject({ cause: { code: "ECONNREFUSED" } });
  });

  it("puts replicas behind the front it is given, lays each service's environment over the stack's, and adds workers on demand", async () => {
    const events: string[] = [];
    const launched: string[] = [];
    const stack = await startStack({
      ports: { history: 0, scheduler: 0, worker: 0, dashboard: 0 },
      env: { DATABASE_URL: testDatabaseUrl, REDIS_URL: testRedisUrl, SHARED: "stack" },
      entries: { history: fake, scheduler: fake, worker: fake, dashboard: fake },
      serviceEnv: { scheduler: { SHARED: "scheduler" } },
      replicas: { history: 2 },
      dashboard: true,
      // The stand-ins never call each other: a front only has to hand its url on.
      front: (service, _urls, listener) => {
        const name = listener === undefined ? service : `${service}-${listener}`;
        const close = (): Promise<void> => Promise.resolve(void events.push(`front ${name}`));
        return Promise.resolve({ url: `http://${name}.front.test`, close });
      },
      workers: 0,
      launch: async (o) => {
        launched.push(`${o.name} ${o.portVar}`);
        const service = await spawnService(o);
        service.child.once("exit", () => events.push(service.name));
        return service;
      },
    });
    try {
      expect(launched.sort()).toEqual(["dashboard DASHBOARD_PORT", "history-1 HISTORY_PORT", "history-2 HISTORY_PORT", "scheduler SCHEDULER_PORT"]);
      expect(stack.urls).toEqual({
        history: "http://history.front.test",
        scheduler: "http://scheduler.front.test",
        worker: undefined,
        dashboard: stack.dashboard!.url,
      });
      expect(stack.history.internalUrl).toBe("http://history-internal.front.test");
      expect(stack.history.replicas.map((r) => r.name)).toEqual(["history-1", "history-2"]);
      expect(stack.workers).toEqual([]);
      const [history2, scheduler, dashboard] = await Promise.all(
        [stack.history.replicas[1]!.url, stack.scheduler.replicas[0]!.url, stack.dashboard!.url].map(envOf),
      );
      expect(history2).toMatchObject({ DATABASE_URL: testDatabaseUrl, SHARED: "stack" });
      expect(scheduler).toMatchObject({ HISTORY_URL: "http://history-internal.front.test", SHARED: "scheduler" });
      // The dashboard calls the fronts, as a browser's calls reach a Service.
      expect(dashboard).toMatchObject({ SCHEDULER_URL: "http://scheduler.front.test", HISTORY_URL: "http://history.front.test", SHARED: "stack" });
      const worker = await stack.addWorker({ SHARED: "worker" });
      expect(stack.workers).toEqual([worker]);
      expect(await envOf(worker.url)).toMatchObject({ SCHEDULER_URL: "http://scheduler.front.test", SHARED: "worker" });
    } finally {
      await stack.stop();
    }
    expect(events.slice(0, 6)).toEqual(["dashboard", "worker", "front scheduler", "scheduler", "front history-internal", "front history"]);
    expect(events.slice(6).sort()).toEqual(["history-1", "history-2"]);
  });

  it("refuses several replicas without a front", async () => {
    const starting = startStack({
      env: { DATABASE_URL: testDatabaseUrl, REDIS_URL: testRedisUrl },
      entries: { history: fake },
      replicas: { history: 2 },
    });
    await expect(starting).rejects.toThrow("history: 2 replicas need a front");
  });
});
