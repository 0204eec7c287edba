import { Code } from "@connectrpc/connect";
import { LeaseStatus, ReportStatus } from "@taskflow/proto";
import { codeOf, startPrivateRedis, uniqueQueue, type PrivateRedis } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecoveryStore } from "./recovery-store.js";
import { ask, backdate, createRedisFixture, jobHash, makeJob, outboxEntries, type RedisFixture } from "../../test/redis-fixture.js";

let server: PrivateRedis;
let f: RedisFixture;

beforeAll(async () => {
  // SCRIPT FLUSH empties the script cache of every client of a server: a server of this file's own.
  server = await startPrivateRedis();
  f = await createRedisFixture({}, server.url);
});
afterAll(async () => {
  await f?.close();
  await server?.stop();
});

/** A counter of the private server's INFO `section`, e.g. `errorstat_NOSCRIPT:count=2`; 0 when absent. */
async function serverCount(section: string, field: string): Promise<number> {
  const text = await f.redis.info(section);
  return Number(new RegExp(`^${field}:(?:count=)?(\\d+)`, "m").exec(text)?.[1] ?? "0");
}

describe("cancel-job", () => {
  it("cancels a ready job at once", async () => {
    const q = uniqueQueue();
    const job = makeJob();
    await f.store.enqueue(q, [job]);
    expect(await f.store.cancel(q, job.id, { reason: "not needed", actor: "api" })).toBe("cancelled");
    expect(await f.redis.zcard(f.keys(q).ready("test.echo"))).toBe(0);
    expect(await jobHash(f, q, job.id)).toMatchObject({ state: "done", status: "cancelled", seq: "2" });
    const [event] = await outboxEntries(f, q);
    expect(event).toMatchObject({ type: "CANCELLED", status: "cancelled", actor: "api", attempt: "0" });
    expect(JSON.parse(event!.details!)).toEqual({ reason: "not needed" });
    expect(await f.store.lease(q, "w1", ask(1))).toEqual([]);
  });

  it("cancels a delayed job at once", async () => {
    const q = uniqueQueue();
    const job = makeJob({ delayMs: 60_000 });
    await f.store.enqueue(q, [job]);
    expect(await f.store.cancel(q, job.id, { reason: "", actor: "api" })).toBe("cancelled");
    expect(await f.redis.zcard(f.keys(q).delayed)).toBe(0);
  });

  it("asks the worker of a leased job to stop, which then ends it CANCELLED", async () => {
    const q = uniqueQueue();
    const job = makeJob();
    await f.store.enqueue(q, [job]);
    const [leased] = await f.store.lease(q, "w1", ask(1));
    expect(await f.store.cancel(q, job.id, { reason: "", actor: "api" })).toBe("requested");
    expect((await jobHash(f, q, job.id)).state).toBe("leased");
    const [beat] = await f.store.extend(q, [{ id: job.id, token: leased!.token }]);
    expect(beat!.status).toBe(LeaseStatus.CANCEL_REQUESTED);
    const [r] = await f.store.report(q, "w1", [
      { id: job.id, token: leased!.token, outcome: "failed", body: "aborted", permanent: false },
    ]);
    expect(r!.status).toBe(ReportStatus.ACCEPTED);
    expect((await outboxEntries(f, q)).at(-1)).toMatchObject({ type: "CANCELLED", status: "cancelled" });
  });

  it("refuses a finished job with failed_precondition and reports an unknown one as missing", async () => {
    const q = uniqueQueue();
    const job = makeJob();
    await f.store.enqueue(q, [job]);
    await f.store.cancel(q, job.id, { reason: "", actor: "api" });
    expect(await codeOf(f.store.cancel(q, job.id, { reason: "", actor: "api" }))).toBe(Code.FailedPrecondition);
    expect(await f.store.cancel(q, makeJob().id, { reason: "", actor: "api" })).toBe("missing");
  });
});

describe("release-jobs", () => {
  it("puts a released job back at once without counting the attempt", async () => {
    const q = uniqueQueue();
    const job = makeJob();
    await f.store.enqueue(q, [job]);
    const [leased] = await f.store.lease(q, "w1", ask(1));
    expect((await f.store.release(q, "w1", [{ id: job.id, token: "forged:1" }])).released).toBe(0);
    expect((await f.store.release(q, "w1", [{ id: job.id, token: leased!.token }])).released).toBe(1);
    expect(await jobHash(f, q, job.id)).toMatchObject({ state: "ready", attempts: "0", token: "" });
    expect((await outboxEntries(f, q)).at(-1)).toMatchObject({ type: "RELEASED", status: "pending", attempt: "0" });
    const [again] = await f.store.lease(q, "w2", ask(1));
    expect(again!.attempts).toBe(1);
  });
});

describe("release-jobs with a cancel requested", () => {
  it("ends the job CANCELLED instead of putting it back", async () => {
    const q = uniqueQueue();
    const job = makeJob();
    await f.store.enqueue(q, [job]);
    const [leased] = await f.store.lease(q, "w1", ask(1));
    await f.store.cancel(q, job.id, { reason: "", actor: "api" });
    expect((await f.store.release(q, "w1", [{ id: job.id, token: leased!.token }])).released).toBe(1);
    expect(await f.redis.zcard(f.keys(q).ready("test.echo"))).toBe(0);
    expect(await jobHash(f, q, job.id)).toMatchObject({ state: "done", status: "cancelled" });
    expect((await outboxEntries(f, q)).at(-1)).toMatchObject({ type: "CANCELLED", status: "cancelled" });
  });
});

describe("expire-leases", () => {
  it("requeues a job whose lease ran out while attempts remain", async () => {
    const q = uniqueQueue();
    const job = makeJob({ maxAttempts: 2 });
    await f.store.enqueue(q, [job]);
    await f.store.lease(q, "w1", ask(1));
    expect(await f.store.expireLeases(q, 10)).toMatchObject({ requeued: 0, ended: 0 });
    await backdate(f, f.keys(q).leased, job.id);
    expect(await f.store.expireLeases(q, 10)).toMatchObject({ requeued: 1, ended: 0 });
    expect(await f.redis.zscore(f.keys(q).ready("test.echo"), job.id)).not.toBeNull();
    expect((await outboxEntries(f, q)).at(-1)).toMatchObject({
      type: "LEASE_EXPIRED", status: "pending", attempt: "1", worker: "w1", actor: "scheduler:expire-leases",
    });
  });

  it("fails a job whose last attempt's lease ran out", async () => {
    const q = uniqueQueue();
    const job = makeJob({ maxAttempts: 1 });
    await f.store.enqueue(q, [job]);
    await f.store.lease(q, "w1", ask(1));
    await backdate(f, f.keys(q).leased, job.id);
    expect(await f.store.expireLeases(q, 10)).toMatchObject({ requeued: 0, ended: 1 });
    expect(await f.redis.zcard(f.keys(q).ready("test.echo"))).toBe(0);
    expect((await outboxEntries(f, q)).at(-1)).toMatchObject({ type: "LEASE_EXPIRED", status: "failed", error: "lease expired" });
    expect((await jobHash(f, q, job.id)).state).toBe("done");
  });

  it("ends a cancel-requested job CANCELLED when its worker is gone", async () => {
    const q = uniqueQueue();
    const job = makeJob();
    await f.store.enqueue(q, [job]);
    await f.store.lease(q, "w1", ask(1));
    await f.store.cancel(q, job.id, { reason: "", actor: "api" });
    await backdate(f, f.keys(q).leased, job.id);
    expect(await f.store.expireLeases(q, 10)).toMatchObject({ requeued: 0, ended: 1 });
    expect((await outboxEntries(f, q)).at(-1)).toMatchObject({ type: "CANCELLED", status: "cancelled" });
  });
});

describe("script loading", () => {
  it("reloads scripts after SCRIPT FLUSH (NOSCRIPT)", async () => {
    const noscript = () => serverCount("errorstats", "errorstat_NOSCRIPT");
    const cached = () => serverCount("memory", "number_of_cached_scripts");
    const q = uniqueQueue();
    // Redis knows the scripts of an enqueue, a lease and the health check, until they are flushed.
    await f.store.enqueue(q, [makeJob()]);
    expect(await f.store.lease(uniqueQueue(), "w1", ask(1))).toEqual([]);
    await f.store.ping();
    await f.redis.script("FLUSH");
    expect(await cached()).toBe(0);
    const refused = await noscript();

    await f.store.enqueue(q, [makeJob()]);
    expect(await f.store.lease(q, "w1", ask(5))).toHaveLength(2);
    await expect(f.store.ping()).resolves.toBeUndefined();
    // Each was answered NOSCRIPT once, sent its script again, and ran.
    expect([await noscript(), await cached()]).toEqual([refused + 3, 3]);
  });
});

describe("the running hash", () => {
  it("counts each type's leased jobs exactly through leases, reports, releases, expiries and drops", async () => {
    const q = uniqueQueue();
    const k = f.keys(q);
    const jobs = Array.from({ length: 5 }, () => makeJob());
    const other = makeJob({ type: "test.other" });
    await f.store.enqueue(q, [...jobs, other]);
    const leased = await f.store.lease(q, "w1", ask(6));
    expect(await f.redis.hgetall(k.running)).toEqual({ "test.echo": "5", "test.other": "1" });
    const token = (id: string) => leased.find((l) => l.id === id)!.token;
    const [a, b, c, d, e] = jobs.map((j) => j.id) as [string, string, string, string, string];
    await f.store.report(q, "w1", [{ id: a, token: token(a), outcome: "completed", body: "{}", permanent: false }]);
    // A report sent twice counts once.
    await f.store.report(q, "w1", [{ id: a, token: token(a), outcome: "completed", body: "{}", permanent: false }]);
    await f.store.report(q, "w1", [{ id: b, token: token(b), outcome: "failed", body: "boom", permanent: false }]);
    await f.store.release(q, "w1", [{ id: c, token: token(c) }]);
    expect(await f.redis.hget(k.running, "test.echo")).toBe("2");
    await backdate(f, k.leased, d);
    await f.store.expireLeases(q, 10);
    expect(await f.redis.hget(k.running, "test.echo")).toBe("1");
    await new RecoveryStore(f.redis, f.store.keyPrefix, { types: f.store.types }).drop(q, [{ id: e, seenType: "" }, { id: other.id, seenType: "" }]);
    // Every type back to none leased: the hash is gone, not a row of zeros.
    expect(await f.redis.exists(k.running)).toBe(0);
  });
});
