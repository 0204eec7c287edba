import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "@taskflow/test-helpers";
import { spawnStackService, type StackService } from "./stack-service.js";
import { superviseWorkers } from "./supervise-workers.js";

const entry = fileURLToPath(new URL("../test/fixtures/tiny-service.mjs", import.meta.url));
const started: StackService[] = [];

afterEach(async () => {
  for (const service of started.splice(0)) await service.stop("SIGKILL");
});

async function spawnTiny(env: NodeJS.ProcessEnv = {}): Promise<StackService> {
  const service = await spawnStackService({
    name: "tiny",
    entry,
    env: { ...process.env, ...env },
    portVar: "TINY_PORT",
    echo: false,
    graceMs: 5_000,
  });
  started.push(service);
  return service;
}

const ask = async (service: StackService, path = "/", timeoutMs = 2_000): Promise<{ pid: number; greeting: string }> =>
  (await fetch(`${service.url}${path}`, { signal: AbortSignal.timeout(timeoutMs) })).json() as Promise<{ pid: number; greeting: string }>;

describe("spawnStackService", () => {
  it("restarts on the same url, with the environment changed as asked", async () => {
    const service = await spawnTiny({ TINY_GREETING: "first" });
    const { url, pid } = service;
    await service.restart({ env: { TINY_GREETING: "second" } });
    expect(service.url).toBe(url);
    expect(service.pid).not.toBe(pid);
    expect(await ask(service)).toEqual({ pid: service.pid, greeting: "second" });
    await service.stop();
    expect(service.exited).toBe(true);
    await service.start({ TINY_GREETING: undefined });
    expect(await ask(service)).toEqual({ pid: service.pid, greeting: "" });
  });

  it("freezes and thaws the process", async () => {
    const service = await spawnTiny();
    service.pause();
    // A frozen process answers nothing: the call times out (its connection is still accepted).
    await expect(ask(service, "/", 300)).rejects.toMatchObject({ name: "TimeoutError" });
    service.resume();
    expect((await ask(service)).pid).toBe(service.pid);
  });

  it("finds a line the process printed, before or after the call", async () => {
    const service = await spawnTiny();
    await expect(service.waitForOutput((l) => l.includes("never printed"), 200)).rejects.toThrow(/no matching line/);
    await ask(service, "/before");
    expect(await service.waitForOutput((l) => l.includes("/before"), 1_000)).toContain("request");
    const later = service.waitForOutput((l) => l.includes("/after"), 2_000);
    await ask(service, "/after");
    expect(await later).toContain("request");
    // A restart starts a new record: the old process's lines are gone.
    await service.restart();
    await expect(service.waitForOutput((l) => l.includes("/before"), 200)).rejects.toThrow(/no matching line/);
  });
});

describe("superviseWorkers", () => {
  it("starts a crashed process again on its port, counting the crashes but not the stops", async () => {
    const pool = await superviseWorkers(2, () => spawnTiny());
    try {
      const [first] = pool.workers;
      const pid = first!.pid;
      await ask(first!, "/crash").catch(() => undefined);
      await eventually(async () => ((await ask(first!)).pid !== pid ? true : undefined));
      expect(pool.restarts).toBe(1);
      await first!.restart();
      expect(pool.restarts).toBe(1);
    } finally {
      await pool.stop();
    }
    expect(pool.workers.every((w) => w.exited)).toBe(true);
  });
});
