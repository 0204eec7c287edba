import { randomUUID } from "node:crypto";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { SchedulerService } from "@taskflow/proto";
import { spawnTestStack, testRedisUrl, type TestStack } from "@taskflow/testkit";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** The row a key occupies in idempotency_keys: the key in the scope of its submitter, here plain "api". */
const claimKeyOf = (key: string): string => `api\n${key}`;

let stack: TestStack;
let sessions: Http2SessionManager[];
let sql: pg.Client;
let redis: Redis;
/** One client over Connect and one over gRPC, both on HTTP/2, each on its own scheduler replica. */
let clients: Client<typeof SchedulerService>[];

beforeAll(async () => {
  // No worker: every accepted job stays in its queue's ready set, where the test can count it.
  stack = await spawnTestStack({ worker: false });
  // Past the balancer: the racing submits of every case meet on two replicas (when there are two).
  const [first, second] = [stack.schedulers[0]!.url, stack.schedulers.at(-1)!.url];
  sessions = [new Http2SessionManager(first), new Http2SessionManager(second)];
  clients = [
    createClient(SchedulerService, createConnectTransport({ baseUrl: first, httpVersion: "2", sessionManager: sessions[0] })),
    createClient(SchedulerService, createGrpcTransport({ baseUrl: second, sessionManager: sessions[1] })),
  ];
  sql = new pg.Client({ connectionString: stack.db.url });
  await sql.connect();
  redis = new Redis(testRedisUrl());
}, 60_000);

afterAll(async () => {
  for (const s of sessions ?? []) s.abort();
  redis?.disconnect();
  await sql?.end();
  await stack?.stop();
});

/** A queue no other test uses, so its Redis keys hold this test's jobs only. */
const freshQueue = () => `idem-${randomUUID().slice(0, 8)}`;

async function storedFor(key: string, queue: string) {
  const jobs = await sql.query<{ id: string }>("SELECT id FROM jobs WHERE idempotency_key = $1 ORDER BY id", [key]);
  const held = await sql.query<{ job_id: string }>("SELECT job_id FROM idempotency_keys WHERE key = $1", [claimKeyOf(key)]);
  const base = `${stack.keyPrefix}:{${queue}}`;
  const hashes = (await redis.keys(`${base}:job:*`)).map((k) => k.slice(`${base}:job:`.length)).sort();
  return {
    postgres: jobs.rows.map((r) => r.id),
    keyHolder: held.rows[0]?.job_id,
    redisReady: (await Promise.all((await redis.smembers(`${base}:types`)).map((t) => redis.zrange(`${base}:ready:${t}`, "0", "-1"))))
      .flat()
      .sort(),
    redisJobs: hashes,
  };
}

describe("idempotency keys through the scheduler (HTTP/2, real processes)", () => {
  it("answers 20 parallel submits of one key with one job, stored once in PostgreSQL and once in Redis", async () => {
    const key = `order-${randomUUID()}`;
    const queue = freshQueue();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        clients[i % 2]!.submitJob({ type: "email.send", queue, idempotencyKey: key, payload: { order: 42 } }),
      ),
    );
    const ids = new Set(answers.map((a) => a.job?.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids] as string[];
    expect(await storedFor(key, queue)).toEqual({ postgres: [id], keyHolder: id, redisReady: [id], redisJobs: [id] });
  });

  it("creates a new job for the key once its window has ended", async () => {
    const key = `order-${randomUUID()}`;
    const queue = freshQueue();
    const first = (await clients[0]!.submitJob({ type: "email.send", queue, idempotencyKey: key })).job!.id;
    expect((await clients[1]!.submitJob({ type: "email.send", queue, idempotencyKey: key })).job!.id).toBe(first);
    // As if IDEMPOTENCY_WINDOW_MS had passed since the first submit.
    await sql.query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1", [claimKeyOf(key)]);
    const second = (await clients[1]!.submitJob({ type: "email.send", queue, idempotencyKey: key })).job!.id;

    expect(second).not.toBe(first);
    expect(await storedFor(key, queue)).toEqual({
      postgres: [first, second],
      keyHolder: second,
      redisReady: [first, second].sort(),
      redisJobs: [first, second].sort(),
    });
  });

  it("settles batches racing on two keys in opposite orders without a deadlock", async () => {
    const [a, b] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
    const queue = freshQueue();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const keys = i % 2 === 0 ? [a, b] : [b, a];
        return clients[i % 2]!.submitJobs({ jobs: keys.map((k) => ({ type: "email.send", queue, idempotencyKey: k })) });
      }),
    );
    const idsOf = (key: string) =>
      new Set(answers.flatMap((res, i) => res.jobs.filter((_, j) => (i % 2 === 0 ? [a, b] : [b, a])[j] === key).map((job) => job.id)));
    expect([idsOf(a).size, idsOf(b).size]).toEqual([1, 1]);
    const stored = [await storedFor(a, queue), await storedFor(b, queue)];
    expect(stored.map((s) => s.postgres.length)).toEqual([1, 1]);
    expect(stored[0]!.redisJobs).toEqual([...stored[0]!.postgres, ...stored[1]!.postgres].sort());
  });

  it("resolves a key repeated within one batch to the batch's first job with that key", async () => {
    const key = `order-${randomUUID()}`;
    const queue = freshQueue();
    const { jobs } = await clients[0]!.submitJobs({
      jobs: [{ type: "t.a", queue, idempotencyKey: key }, { type: "t.b", queue }, { type: "t.a", queue, idempotencyKey: key }],
    });
    expect(jobs.map((j) => j.type)).toEqual(["t.a", "t.b", "t.a"]);
    expect(jobs[2]!.id).toBe(jobs[0]!.id);
    const stored = await storedFor(key, queue);
    expect(stored.postgres).toEqual([jobs[0]!.id]);
    // The queue holds the keyed job once, beside the batch's job without a key.
    expect(stored.redisReady).toEqual([jobs[0]!.id, jobs[1]!.id].sort());
  });

  it("refuses a key reused for a different request with already_exists, and stores nothing", async () => {
    const key = `order-${randomUUID()}`;
    const queue = freshQueue();
    const first = (await clients[0]!.submitJob({ type: "email.send", queue, idempotencyKey: key, payload: { to: "a@example.com", cc: "c" } })).job!;
    // The same object with its keys in another order is the same request.
    const same = await clients[1]!.submitJob({ type: "email.send", queue, idempotencyKey: key, payload: { cc: "c", to: "a@example.com" } });
    expect(same.job!.id).toBe(first.id);
    for (const other of [
      { type: "email.send", queue, payload: { to: "b@example.com", cc: "c" } },
      { type: "sms.send", queue, payload: { to: "a@example.com", cc: "c" } },
      { type: "email.send", queue: `${queue}-2`, payload: { to: "a@example.com", cc: "c" } },
      { type: "email.send", queue, payload: { to: "a@example.com", cc: "c" }, priority: 9 },
    ]) {
      await expect(clients[0]!.submitJob({ ...other, idempotencyKey: key })).rejects.toMatchObject({ code: Code.AlreadyExists });
    }
    const batch = clients[1]!.submitJobs({ jobs: [{ type: "t.new", queue }, { type: "t.other", queue, idempotencyKey: key }] });
    await expect(batch).rejects.toMatchObject({ code: Code.AlreadyExists, rawMessage: expect.stringContaining("jobs[1].idempotency_key") });
    expect(await storedFor(key, queue)).toEqual({ postgres: [first.id], keyHolder: first.id, redisReady: [first.id], redisJobs: [first.id] });
  });
});
