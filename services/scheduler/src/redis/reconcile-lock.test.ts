import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisFixture, type RedisFixture } from "../../test/redis-fixture.js";
import { reconcileLockKey } from "./keys.js";
import { ReconcileLock } from "./reconcile-lock.js";

let f: RedisFixture;
beforeAll(async () => {
  f = await createRedisFixture();
});
afterAll(async () => {
  await f.close();
});

describe("ReconcileLock", () => {
  it("lets one holder in at a time and frees the lock on release", async () => {
    const a = new ReconcileLock(f.redis, f.prefix);
    const b = new ReconcileLock(f.redis, f.prefix);
    // What the lock key holds: its holder's token, 16 random bytes in base64url.
    const holder = () => f.redis.get(reconcileLockKey(f.prefix));
    const token = /^[\w-]{22}$/;
    const held = await a.acquire();
    expect(held?.signal.aborted).toBe(false);
    const first = await holder();
    expect(first).toMatch(token);
    expect(await b.acquire()).toBeUndefined();
    const waiting = b.acquire(5_000);
    await held!.release();
    const next = await waiting;
    expect(next?.signal.aborted).toBe(false);
    const second = await holder();
    expect(second).toMatch(token);
    expect(second).not.toBe(first);
    await next!.release();
    expect(await f.redis.exists(reconcileLockKey(f.prefix))).toBe(0);
  });

  it("renews while held, and aborts its signal once another holder has the lock", async () => {
    const lock = new ReconcileLock(f.redis, `${f.prefix}-renew`, 300);
    const held = (await lock.acquire())!;
    const key = reconcileLockKey(`${f.prefix}-renew`);
    // As if the lock had expired and another replica had taken it.
    await f.redis.set(key, "someone else");
    await once(held.signal, "abort");
    expect(String(held.signal.reason)).toContain("lock lost");
    // Releasing a lost lock must not free the new holder's.
    await held.release();
    expect(await f.redis.get(key)).toBe("someone else");
  });

  it("keeps a lock alive beyond its time to live while renewing", async () => {
    const lock = new ReconcileLock(f.redis, `${f.prefix}-alive`, 200);
    const held = (await lock.acquire())!;
    const key = reconcileLockKey(`${f.prefix}-alive`);
    const token = await f.redis.get(key);
    // Wait for two renewals by watching the time to live go back up.
    for (let renewals = 0, last = await f.redis.pttl(key); renewals < 2; ) {
      const ttl = await f.redis.pttl(key);
      if (ttl > last) renewals += 1;
      last = ttl;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await f.redis.get(key)).toBe(token);
    expect(held.signal.aborted).toBe(false);
    await held.release();
  });
});
