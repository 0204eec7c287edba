import { ReportStatus } from "@taskflow/proto";
import { randomKeyPrefix, startRedisCluster, type RedisCluster } from "@taskflow/testkit";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ask, makeJob } from "../../test/redis-fixture.js";
import { loadConfig, redisTargetOf } from "../config.js";
import { checkEvictionPolicy } from "./check-eviction-policy.js";
import { legacyReadyKey, queueKeys } from "./keys.js";
import { LeaseWaiters } from "./lease-waiters.js";
import { OutboxReader } from "./outbox.js";
import { ParkedEvents } from "./parked-events.js";
import { QueueStore } from "./queue-store.js";
import { RecoveryStore } from "./recovery-store.js";
import { closeRedis, connectRedis, mastersOf, type RedisClient } from "./redis-client.js";

const logger = pino({ level: "silent" });
const prefix = randomKeyPrefix();
/** Enough queues that their hash tags land on every master. */
const QUEUES = Array.from({ length: 12 }, (_, i) => `cq-${i}`);

let cluster: RedisCluster;
let redis: RedisClient;
let store: QueueStore;
const connections: RedisClient[] = [];

async function connect(): Promise<RedisClient> {
  const config = loadConfig({ REDIS_CLUSTER_NODES: cluster.nodesSetting });
  const client = await connectRedis(redisTargetOf(config), logger, { enableAutoPipelining: true, enableOfflineQueue: false });
  connections.push(client);
  return client;
}

beforeAll(async () => {
  cluster = await startRedisCluster();
  redis = await connect();
  store = new QueueStore({ redis, keyPrefix: prefix, leaseMs: 30_000, retryBaseMs: 1, retryMaxMs: 1, checkScriptKeys: true });
});
afterAll(async () => {
  await Promise.all(connections.map((c) => closeRedis(c)));
  await cluster?.stop();
});

/** Job hashes per master. */
const jobsPerMaster = (): Promise<number[]> =>
  cluster.eachMaster(async (node) => (await node.keys(`${prefix}:{*}:job:*`)).length);

describe("the scheduler's stores on a Redis Cluster of three masters", () => {
  it("connects as a cluster and checks the eviction policy of every master", async () => {
    expect(mastersOf(redis)).toHaveLength(3);
    await checkEvictionPolicy(redis, { allowEviction: false, logger });
  });

  it("runs every queue's scripts on the master of its slot, queues spread over all of them", async () => {
    const byQueue = new Map(QUEUES.map((q) => [q, [makeJob({ type: "a" }), makeJob({ type: "b" }), makeJob({ type: "a", delayMs: 60_000 })]]));
    await Promise.all([...byQueue].map(([q, jobs]) => store.enqueue(q, jobs)));
    await store.addQueues(QUEUES);
    expect((await jobsPerMaster()).every((n) => n > 0)).toBe(true);

    for (const q of QUEUES) {
      const leased = await store.lease(q, "w1", { ...ask(10), requestId: `r-${q}` });
      expect(leased.map((r) => r.type).sort()).toEqual(["a", "b"]);
      expect(await store.lease(q, "w1", { ...ask(10), requestId: `r-${q}` })).toEqual(leased);
      const [done, failed] = leased;
      const outcomes = await store.report(q, "w1", [
        { id: done!.id, token: done!.token, outcome: "completed", body: "1", permanent: false },
        { id: failed!.id, token: failed!.token, outcome: "failed", body: "boom", permanent: false },
      ]);
      expect(outcomes.map((o) => o.status)).toEqual([ReportStatus.ACCEPTED, ReportStatus.ACCEPTED]);
    }
    // Retries (due at once) and the scheduled jobs moved into the past become ready.
    await Promise.all(QUEUES.map((q) => redis.zadd(queueKeys(prefix, q).delayed, "XX", 1, byQueue.get(q)![2]!.id)));
    const promoted = await Promise.all(QUEUES.map((q) => store.promoteDelayed(q, 100)));
    expect(promoted.map((p) => p.moved)).toEqual(QUEUES.map(() => 2));

    // Leases expire; one job of each queue is cancelled, the other released.
    for (const q of QUEUES) {
      const leased = await store.lease(q, "w2", ask(10));
      expect(leased).toHaveLength(2);
      await redis.zadd(queueKeys(prefix, q).leased, "XX", 1, leased[0]!.id);
      expect(await store.expireLeases(q, 100)).toMatchObject({ requeued: 1, ended: 0 });
      expect(await store.release(q, "w2", [{ id: leased[1]!.id, token: leased[1]!.token }])).toMatchObject({ released: 1 });
      expect(await store.cancel(q, leased[0]!.id, { reason: "", actor: "api" })).toBe("cancelled");
      expect(await store.extend(q, [{ id: leased[1]!.id, token: leased[1]!.token }])).toHaveLength(1);
    }
    expect(await store.knownQueues()).toHaveLength(QUEUES.length);
  });

  it("moves legacy ready jobs and reads, restores, drops and buries across masters", async () => {
    const recovery = new RecoveryStore(redis, prefix, { checkKeys: true });
    const q = QUEUES[0]!;
    const legacy = makeJob({ type: "old" });
    await store.enqueue(q, [legacy]);
    const k = queueKeys(prefix, q);
    const score = await redis.zscore(k.ready("old"), legacy.id);
    await redis.multi().zrem(k.ready("old"), legacy.id).zadd(legacyReadyKey(prefix, q), score!, legacy.id).exec();
    expect(await new QueueStore({ redis, keyPrefix: prefix, leaseMs: 30_000, retryBaseMs: 1, retryMaxMs: 1, checkScriptKeys: true }).migrateLegacyReady(q)).toBe(1);

    for (const queue of QUEUES.slice(0, 4)) {
      const lost = makeJob({ type: "lost" });
      expect(await recovery.missing(queue, [{ id: lost.id, seq: 1 }])).toEqual([lost.id]);
      expect(await recovery.restore(queue, [{ ...lost, attempts: 0, seq: 1, scheduledMs: 0, processing: true, workerId: "w0" }])).toEqual([3]);
      const step = await recovery.scan(queueKeys(prefix, queue).ready("lost"), "0", 100);
      expect(step.ids).toContain(lost.id);
      expect(await recovery.drop(queue, [{ id: lost.id, seenType: "lost" }])).toBe(1);
      const buried = makeJob();
      expect(await recovery.bury({ id: buried.id, queue, type: "t", lastSeq: 1, attempts: 0 }, { reason: "", actor: "api" })).toBeGreaterThan(0);
    }
  });

  it("reads and acknowledges outboxes and counts parked entries of queues on every master", async () => {
    const reader = new OutboxReader(redis, prefix, "c1");
    for (const q of QUEUES) {
      const entries = await reader.read(q, 1_000, 60_000);
      expect(entries.length).toBeGreaterThan(0);
      await reader.ack(q, { ids: entries.map((e) => e.id), parked: [{ entry: entries[0]!, error: "test" }] });
    }
    const counts = await new ParkedEvents(redis, prefix).counts(QUEUES);
    expect([...counts.values()]).toEqual(QUEUES.map(() => 1));
    const other = new OutboxReader(redis, prefix, "c2");
    for (const q of QUEUES) await other.read(q, 1, 60_000);
    // c2 read nothing it holds (c1 acknowledged all): it goes once idle; c1 is the reader itself.
    expect(await Promise.all(QUEUES.map((q) => reader.removeIdleConsumers(q, 0)))).toEqual(QUEUES.map(() => 1));
    // A queue holding parked entries stays swept; one holding nothing at all is forgotten.
    expect(await store.forgetIfIdle(QUEUES[0]!, Date.now() + 60_000)).toBe(false);
    await store.addQueues(["cq-empty"]);
    expect(await store.forgetIfIdle("cq-empty", Date.now() + 60_000)).toBe(true);
  });

  it("wakes a long poll of another replica through pub/sub, whatever master its queue is on", async () => {
    const a = new LeaseWaiters(await connect(), await connect(), prefix, logger);
    const b = new LeaseWaiters(await connect(), await connect(), prefix, logger);
    await Promise.all([a.start(), b.start()]);
    try {
      for (const q of QUEUES) {
        const waiter = b.register({ queues: [q], types: [], want: 1 });
        waiter.beginAttempt();
        const woken = waiter.wait(10_000, new AbortController().signal);
        await a.announce([{ queue: q, ready: new Map([["a", 1]]) }]);
        expect(await woken).toBe("woken");
        waiter.dispose();
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
