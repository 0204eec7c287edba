import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureRedis } from "./ensure-redis.js";
import { freePort } from "./free-port.js";
import { pingRedis } from "./ping-redis.js";

describe("ensureRedis", () => {
  let dir: string;
  let closed: { host: string; port: number };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "devstack-redis-"));
    // Nothing listens on a port just released, so it stands for "no Redis here".
    closed = { host: "127.0.0.1", port: await freePort() };
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("uses REDIS_URL as given", async () => {
    const redis = await ensureRedis({ env: { REDIS_URL: "redis://example.test:7000" } });
    expect(redis).toMatchObject({ url: "redis://example.test:7000", source: "env" });
  });

  it("uses the server at the probe address when it answers", async () => {
    // 127.0.0.1:6379 on the project's machines; a server of the test run's own elsewhere.
    const { hostname, port } = new URL(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
    const probe = { host: hostname, port: Number(port || 6379) };
    const redis = await ensureRedis({ env: { PATH: process.env.PATH }, probe });
    expect(redis).toMatchObject({ url: `redis://${hostname}:${probe.port}`, source: "local" });
  });

  it("starts redis-server from PATH on a free port when none answers, and stop() ends it", async () => {
    const redis = await ensureRedis({ dir, env: { PATH: process.env.PATH }, probe: closed });
    expect(redis.source).toBe("started");
    const port = Number(new URL(redis.url).port);
    expect(port).not.toBe(6379);
    const client = new Redis(redis.url);
    try {
      expect(await client.ping()).toBe("PONG");
      expect(await client.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
    } finally {
      client.disconnect();
    }
    await redis.stop();
    expect(await pingRedis("127.0.0.1", port)).toBe(false);
  });

  it("says what to install when nothing answers and redis-server is not on PATH", async () => {
    await expect(ensureRedis({ dir, env: { PATH: "" }, probe: closed })).rejects.toThrow(
      /Debian\/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis\) or set REDIS_URL/,
    );
  });
});
