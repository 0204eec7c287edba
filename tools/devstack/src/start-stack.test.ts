import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { freePort } from "./free-port.js";
import { startStack } from "./start-stack.js";

const fake = fileURLToPath(new URL("../test/fixtures/fake-service.mjs", import.meta.url));
// The stand-ins never connect; the stores' urls only have to reach them intact.
const testDatabaseUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const testRedisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const envOf = async (url: string) => (await (await fetch(url)).json()) as Record<string, string>;

describe("startStack", () => {
  it("wires each service to the stores and to the services it needs, and stops worker first", async () => {
    const stack = await startStack({
      ports: { scheduler: 0, worker: 0 },
      env: { HISTORY_PORT: "0", DATABASE_URL: testDatabaseUrl, REDIS_URL: testRedisUrl },
      entries: { history: fake, scheduler: fake, worker: fake },
    });
    const exits: string[] = [];
    for (const service of stack.services) service.child.once("exit", () => exits.push(service.name));
    try {
      const [history, scheduler, worker] = await Promise.all(
        [stack.urls.history, stack.urls.scheduler, stack.urls.worker].map(envOf),
      );
      expect(stack.postgres.url).toBe(testDatabaseUrl);
      expect(history).toMatchObject({ HISTORY_PORT: "0", DATABASE_URL: testDatabaseUrl });
      expect(scheduler).toMatchObject({
        SCHEDULER_PORT: "0",
        REDIS_URL: stack.redis.url,
        HISTORY_URL: stack.urls.history,
      });
      expect(worker).toMatchObject({ WORKER_PORT: "0", SCHEDULER_URL: stack.urls.scheduler });
    } finally {
      await stack.stop();
    }
    expect(exits).toEqual(["worker", "scheduler", "history"]);
  });

  it("stops the services already started when a later one fails", async () => {
    const historyPort = await freePort();
    const failing = startStack({
      ports: { history: historyPort },
      env: { DATABASE_URL: testDatabaseUrl, REDIS_URL: testRedisUrl },
      entries: { history: fake, scheduler: join(tmpdir(), "no-such-service.js") },
    });
    await expect(failing).rejects.toThrow(/^scheduler: .*no-such-service.js does not exist/);
    await expect(fetch(`http://127.0.0.1:${historyPort}`)).rejects.toThrow();
  });
});
