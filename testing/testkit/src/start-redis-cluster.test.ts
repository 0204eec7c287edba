import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisCluster, type RedisCluster } from "./start-redis-cluster.js";

let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

describe("startRedisCluster", () => {
  it("forms a cluster of three masters that spreads hash tags over them and keeps a tag on one", async () => {
    expect(cluster.nodes).toHaveLength(3);
    const client = await cluster.connect();
    try {
      for (let i = 0; i < 30; i += 1) await client.set(`t:{q${i}}:a`, "1");
      // One hash tag, one slot: a transaction over two of its keys is allowed.
      await client.multi().set("t:{q0}:b", "2").get("t:{q0}:a").exec();
    } finally {
      client.disconnect();
    }
    const sizes = await cluster.eachMaster((node) => node.dbsize());
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(31);
    expect(sizes.every((n) => n > 0)).toBe(true);
  });

  it("stops every server and removes its folder", async () => {
    const other = await startRedisCluster({ masters: 3 });
    const dirs = await other.eachMaster(async (node) => (await node.config("GET", "dir"))[1] as string);
    await other.stop();
    expect(dirs.some((d) => existsSync(d))).toBe(false);
    await expect(other.eachMaster((node) => node.ping())).rejects.toThrow();
  });
});
