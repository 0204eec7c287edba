import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { spawnService } from "./spawn-service.js";

const entry = fileURLToPath(new URL("../test/fixtures/fake-service.mjs", import.meta.url));
const spawnFake = (mode: string, more: { timeoutMs?: number; graceMs?: number } = {}) =>
  spawnService({ name: "fake", entry, env: { ...process.env, FAKE_MODE: mode }, ...more });

describe("spawnService", () => {
  it("resolves with the url of the listening line, and stop() ends the child with SIGTERM", async () => {
    const service = await spawnFake("normal");
    const env = (await (await fetch(service.url)).json()) as Record<string, string>;
    expect(env.FAKE_MODE).toBe("normal");
    await service.stop();
    expect(service.child.exitCode).toBe(0);
    // Nothing listens there any more.
    await expect(fetch(service.url)).rejects.toMatchObject({ cause: { code: "ECONNREFUSED" } });
  });

  it("rejects with the child's last output when it exits before listening", async () => {
    await expect(spawnFake("crash")).rejects.toThrow(
      /fake exited \(code 1\) before it was ready; its last output:\nconfig: DATABASE_URL is not a url/,
    );
  });

  it("rejects without spawning when the entry does not exist", async () => {
    await expect(spawnService({ name: "fake", entry: `${entry}.missing`, env: {} })).rejects.toThrow(
      /^fake: .*fake-service.mjs.missing does not exist \(build it/,
    );
  });

  it("rejects after the timeout and kills a child that never listens", async () => {
    await expect(spawnFake("silent", { timeoutMs: 3_000 })).rejects.toThrow(
      /fake was not ready after 3000 ms; its last output:\nplain text before the listening line/,
    );
  });

  it("kills a child that ignores SIGTERM once the grace has passed", async () => {
    const service = await spawnFake("stubborn", { graceMs: 200 });
    await service.stop();
    expect(service.child.signalCode).toBe("SIGKILL");
  });
});
