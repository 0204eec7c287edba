import { uniqueQueue } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ask, backdate, createRedisFixture, jobHash, makeJob, type RedisFixture } from "../../test/redis-fixture.js";
import { declaredKeys } from "./declared-types.js";
import { QueueStore } from "./queue-store.js";
import { defineScripts, hashTagOf, type Scripts } from "./scripts.js";

// Every store here checks that its scripts touch only the keys they declare (createRedisFixture).
let f: RedisFixture;
let scripts: Scripts;

beforeAll(async () => {
  f = await createRedisFixture();
  scripts = defineScripts(f.redis, { checkKeys: true });
});
afterAll(async () => {
  await f.close();
});

/** Another replica's store on the same keys: it has seen no job type yet. */
const freshStore = (): QueueStore =>
  new QueueStore({ redis: f.redis, keyPrefix: f.prefix, leaseMs: 30_000, retryBaseMs: 1_000, retryMaxMs: 60_000, checkScriptKeys: true });

describe("declared keys", () => {
  it("fails a script that touches a key it did not declare, and a call whose keys span two hash tags", async () => {
    const q = uniqueQueue();
    const job = makeJob();
    await f.store.enqueue(q, [job]);
    const k = f.keys(q);
    // The job's hash left out of KEYS.
    await expect(scripts["extend-leases"]([k.leased], [30_000, 5_000, job.id, "t:1"])).rejects.toThrow(/not in KEYS/);
    await expect(scripts["extend-leases"]([k.leased, f.keys(uniqueQueue()).job(job.id)], [30_000, 5_000, job.id, "t:1"]))
      .rejects.toThrow(/more than one hash tag/);
    expect(hashTagOf(k.job(job.id))).toBe(q);
    expect(hashTagOf("tf:queues")).toBe("tf:queues");
    expect(hashTagOf("a{}b{c}")).toBe("a{}b{c}");
  });

  it("learns a job type it was refused for, and promotes, expires, releases and cancels such jobs", async () => {
    const q = uniqueQueue();
    const [delayed, leased, released, ready] = ["t.delayed", "t.leased", "t.released", "t.ready"].map((type) =>
      makeJob({ type, delayMs: type === "t.delayed" ? 60_000 : 0 }),
    );
    await f.store.enqueue(q, [delayed!, leased!, released!, ready!]);
    const [l1] = await f.store.lease(q, "w1", { ...ask(1), types: ["t.leased"] });
    const [l2] = await f.store.lease(q, "w1", { ...ask(1), types: ["t.released"] });
    await backdate(f, f.keys(q).delayed, delayed!.id);
    await backdate(f, f.keys(q).leased, l1!.id);

    const other = freshStore();
    expect(other.types.of(q)).toEqual([]);
    expect((await other.promoteDelayed(q, 10)).ready).toEqual(new Map([["t.delayed", 1]]));
    expect((await other.expireLeases(q, 10)).ready).toEqual(new Map([["t.leased", 1]]));
    expect((await freshStore().release(q, "w1", [{ id: l2!.id, token: l2!.token }])).ready).toEqual(new Map([["t.released", 1]]));
    expect(await freshStore().cancel(q, ready!.id, { reason: "", actor: "api" })).toBe("cancelled");
    expect(other.types.of(q).sort()).toEqual(["t.delayed", "t.leased"]);
    const leasedAgain = await f.store.lease(q, "w2", ask(10));
    expect(leasedAgain.map((r) => r.id).sort()).toEqual([delayed!.id, leased!.id, released!.id].sort());
  });

  it("gives each of many leases racing for one queue's head its own jobs", async () => {
    const q = uniqueQueue();
    const jobs = Array.from({ length: 40 }, () => makeJob());
    await f.store.enqueue(q, jobs);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => freshStore().lease(q, `w${i}`, ask(1))));
    expect(results.map((r) => r.length)).toEqual(jobs.map(() => 1));
    expect(new Set(results.flat().map((r) => r.id)).size).toBe(40);
  });
});

describe("scripts re-check what the caller read", () => {
  it("promote-delayed passes over a candidate no longer delayed or no longer due", async () => {
    const q = uniqueQueue();
    const k = f.keys(q);
    const [gone, later, due] = [makeJob({ delayMs: 60_000 }), makeJob({ delayMs: 60_000 }), makeJob({ delayMs: 60_000 })];
    await f.store.enqueue(q, [gone, later, due]);
    await f.store.cancel(q, gone.id, { reason: "", actor: "api" });
    await backdate(f, k.delayed, due.id);
    const ids = [gone.id, later.id, due.id];
    const [keys, args] = declaredKeys(k, ["test.echo"], { fixed: [k.delayed, k.types], jobKeys: ids.map((id) => k.job(id)), args: ids });
    const [handled, counts] = (await scripts["promote-delayed"](keys, args)) as [number, unknown[]];
    expect([handled, counts]).toEqual([1, ["test.echo", 1]]);
    expect((await jobHash(f, q, later.id)).state).toBe("delayed");
    expect((await jobHash(f, q, gone.id)).state).toBe("done");
  });

  it("expire-leases passes over a lease extended since it was read", async () => {
    const q = uniqueQueue();
    const k = f.keys(q);
    await f.store.enqueue(q, [makeJob()]);
    const [lease] = await f.store.lease(q, "w1", ask(1));
    await backdate(f, k.leased, lease!.id);
    const read = (await scripts["find-due"]([k.leased], [10])) as string[];
    expect(read).toEqual([lease!.id]);
    await f.store.extend(q, [{ id: lease!.id, token: lease!.token }]);
    const [keys, args] = declaredKeys(k, ["test.echo"], { fixed: [k.leased, k.types, k.outbox, k.running], jobKeys: [k.job(lease!.id)], args: read });
    expect(await scripts["expire-leases"](keys, args)).toEqual([0, 0, []]);
    expect((await jobHash(f, q, lease!.id)).state).toBe("leased");
  });

  it("lease-jobs refuses, before writing, a request key holding ids it did not declare", async () => {
    const q = uniqueQueue();
    const k = f.keys(q);
    const job = makeJob();
    await f.store.enqueue(q, [job]);
    const request = k.leaseRequest("w1", "r1");
    await f.redis.rpush(request, makeJob().id, "other:1");
    const [keys, args] = declaredKeys(k, ["test.echo"], {
      fixed: [k.types, k.leased, k.outbox, request, k.meta, k.running],
      jobKeys: [k.job(job.id)],
      args: [1, "w1", 30_000, 5_000, "nonce", 1_000_000, 1, 0, job.id, "test.echo"],
    });
    await expect(scripts["lease-jobs"](keys, args)).rejects.toThrow(/^TF_STALE_READ/);
    expect((await jobHash(f, q, job.id)).state).toBe("ready");
    expect(await f.redis.lrange(request, 0, -1)).toHaveLength(2);
  });
});
