import { createServer, type AddressInfo } from "node:net";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { startServicesInProcess, type InProcessServiceModule } from "./start-services-in-process.js";
import { testDatabaseAdminUrl, testRedisUrl } from "./stores.js";

/** A stand-in's settings: the variables it was given, and the port they name. */
interface Config {
  env: Record<string, string>;
  port: number;
}

/** A stand-in service: records its settings and what happens to it, and listens on its port. */
function standIn(name: string, events: string[], configs: Config[], fail = false): InProcessServiceModule<Config> {
  return {
    loadConfig: (env) => ({ env, port: Number(env.HISTORY_PORT ?? env.SCHEDULER_PORT) }),
    start: async (config) => {
      configs.push(config);
      if (fail) throw new Error(`${name} refused to start`);
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(config.port, "127.0.0.1", resolve));
      events.push(`start ${name}`);
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: async () => {
          events.push(`close ${name}`);
          await new Promise((resolve) => server.close(resolve));
        },
      };
    },
  };
}

async function databaseExists(url: string): Promise<boolean> {
  const admin = new pg.Client({ connectionString: testDatabaseAdminUrl() });
  await admin.connect();
  try {
    return (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [new URL(url).pathname.slice(1)])).rowCount === 1;
  } finally {
    await admin.end();
  }
}

describe("startServicesInProcess", () => {
  it("wires the scheduler to history, restarts it on its port, and closes both before dropping the database", async () => {
    const events: string[] = [];
    const histories: Config[] = [];
    const schedulers: Config[] = [];
    const stack = await startServicesInProcess({
      history: standIn("history", events, histories),
      scheduler: standIn("scheduler", events, schedulers),
      historyEnv: { LOG_LEVEL: "silent" },
      schedulerEnv: { SWEEP_INTERVAL_MS: "50" },
    });
    expect(histories).toEqual([{ env: { HISTORY_PORT: "0", HISTORY_INTERNAL_PORT: "0", DATABASE_URL: stack.databaseUrl, LOG_LEVEL: "silent" }, port: 0 }]);
    expect(stack.schedulerConfig.env).toMatchObject({ SCHEDULER_PORT: "0", REDIS_URL: testRedisUrl(), HISTORY_URL: stack.historyUrl, SWEEP_INTERVAL_MS: "50" });
    expect(stack.schedulerConfig.env.REDIS_KEY_PREFIX).toMatch(/^tft-[0-9a-f]{8}$/);
    expect(await databaseExists(stack.databaseUrl)).toBe(true);

    const restart = await stack.stopScheduler();
    await restart();
    expect(schedulers.map((c) => c.port)).toEqual([0, Number(new URL(stack.schedulerUrl).port)]);

    await stack.close();
    await stack.close();
    expect(events).toEqual(["start history", "start scheduler", "close scheduler", "start scheduler", "close scheduler", "close history"]);
    expect(await databaseExists(stack.databaseUrl)).toBe(false);
  });

  it("gives the scheduler the history url it is told to, and undoes what started when a start fails", async () => {
    const events: string[] = [];
    const histories: Config[] = [];
    const schedulers: Config[] = [];
    const starting = startServicesInProcess({
      history: standIn("history", events, histories),
      scheduler: standIn("scheduler", events, schedulers, true),
      historyUrl: "http://127.0.0.1:9",
    });
    await expect(starting).rejects.toThrow("scheduler refused to start");
    expect(schedulers.map((c) => c.env.HISTORY_URL)).toEqual(["http://127.0.0.1:9"]);
    expect(events).toEqual(["start history", "close history"]);
    expect(await databaseExists(histories[0]!.env.DATABASE_URL!)).toBe(false);
  });
});
