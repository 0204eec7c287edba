import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPrivateRedis, type PrivateRedis } from "./start-private-redis.js";

let server: PrivateRedis;

beforeAll(async () => {
  server = await startPrivateRedis();
});

afterAll(async () => {
  await server?.stop();
});

describe("startPrivateRedis", () => {
  it("runs with noeviction and no persistence, and loses every key on restart, keeping its url", async () => {
    const redis = new Redis(server.url, { maxRetriesPerRequest: 20 });
    redis.on("error", () => undefined);
    try {
      expect(await redis.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
      expect(await redis.config("GET", "appendonly")).toEqual(["appendonly", "no"]);
      await redis.set("k", "v");
      await server.restart();
      // The same client reconnects to the same address and finds an empty server.
      expect(await redis.get("k")).toBeNull();
      expect(await redis.dbsize()).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});
