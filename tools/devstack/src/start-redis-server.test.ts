import { existsSync } from "node:fs";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { pingRedis } from "./ping-redis.js";
import { startRedisServer, type RedisServer } from "./start-redis-server.js";

const started: RedisServer[] = [];
afterEach(async () => {
  for (const server of started.splice(0)) await server.stop("SIGKILL");
});

async function start(args?: string[]): Promise<RedisServer> {
  const server = await startRedisServer({ args });
  started.push(server);
  return server;
}

/** The folder the server works in, as it reports it. */
async function dirOf(url: string): Promise<string> {
  const redis = new Redis(url);
  try {
    return (await redis.config("GET", "dir"))[1]!;
  } finally {
    redis.disconnect();
  }
}

describe("startRedisServer", () => {
  it("runs with noeviction and no persistence, and loses every key on restart, keeping its url", async () => {
    const server = await start();
    const redis = new Redis(server.url, { maxRetriesPerRequest: 20 });
    redis.on("error", () => undefined);
    try {
      expect(await redis.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
      expect(await redis.config("GET", "appendonly")).toEqual(["appendonly", "no"]);
      expect(await redis.config("GET", "save")).toEqual(["save", ""]);
      await redis.set("k", "v");
      await server.restart();
      // The same client reconnects to the same address and finds an empty server.
      expect(await redis.get("k")).toBeNull();
      expect(await redis.dbsize()).toBe(0);
    } finally {
      redis.disconnect();
    }
  });

  it("takes extra arguments over its defaults", async () => {
    const server = await start(["--maxmemory-policy", "allkeys-lru"]);
    const redis = new Redis(server.url);
    try {
      expect(await redis.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "allkeys-lru"]);
    } finally {
      redis.disconnect();
    }
  });

  it("stops, and removes the temporary folder it made", async () => {
    const server = await start();
    const dir = await dirOf(server.url);
    expect(existsSync(dir)).toBe(true);
    await server.stop();
    expect(await pingRedis("127.0.0.1", Number(new URL(server.url).port))).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it("says why when the program cannot be started", async () => {
    await expect(startRedisServer({ binary: "/nonexistent/redis-server" })).rejects.toThrow(
      /^redis-server could not be started: spawn \/nonexistent\/redis-server ENOENT/,
    );
  });
});
