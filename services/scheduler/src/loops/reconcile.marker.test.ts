import { deleteKeysWithPrefix, randomKeyPrefix, testRedisUrl } from "@taskflow/testkit";
import { Redis } from "ioredis";
import pino from "pino";
import { v7 as uuidv7 } from "uuid";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestHistory } from "../../test/stack.js";
import { createHistoryClient, type HistoryClient, type OperatorActionInit } from "../history-client.js";
import { queueKeys } from "../redis/keys.js";
import { LeaseWaiters } from "../redis/lease-waiters.js";
import { QueueStore } from "../redis/queue-store.js";
import { ReconcileLock } from "../redis/reconcile-lock.js";
import { ReconcileStateStore } from "../redis/reconcile-state.js";
import { RecoveryStore } from "../redis/recovery-store.js";
import { Reconciler } from "./reconcile.js";

const silent = pino({ level: "silent" });
let prefix: string;
let redis: Redis;
let hist: Awaited<ReturnType<typeof startTestHistory>>;
let history: HistoryClient;
let state: ReconcileStateStore;

/** A reconciler with no scheduler around it, over `client` (to step into a run). */
function reconcilerOver(client: HistoryClient): Reconciler {
  return new Reconciler({
    store: new QueueStore({ redis, keyPrefix: prefix, leaseMs: 30_000, retryBaseMs: 1_000, retryMaxMs: 60_000 }),
    recovery: new RecoveryStore(redis, prefix),
    history: client,
    waiters: new LeaseWaiters(redis, redis, prefix, silent),
    logger: silent,
    eventsWritten: () => undefined,
    lock: new ReconcileLock(redis, prefix),
    state,
    intervalMs: 3_600_000,
    watchIntervalMs: 3_600_000,
    graceMs: 0,
    maxJobsPerRun: 10_000,
    defaultTimeoutMs: 300_000,
  });
}

beforeAll(async () => {
  hist = await startTestHistory();
  history = createHistoryClient(hist.internalUrl);
  redis = new Redis(testRedisUrl());
});
afterAll(async () => {
  redis.disconnect();
  await hist.close();
});
// A key prefix per case: each starts on a Redis that is new to it, with no marker.
beforeEach(() => {
  prefix = randomKeyPrefix();
  state = new ReconcileStateStore(redis, prefix);
});
afterEach(async () => {
  await deleteKeysWithPrefix(testRedisUrl(), `${prefix}:`);
});

describe("the marker of Redis's data", () => {
  it("is not put back by a run that began before Redis lost its data, so the loss is still repaired", async () => {
    const ids = [uuidv7(), uuidv7()];
    await history.insertJobs(ids.map((id) => ({ id, type: "t.x", queue: "marked", payload: {}, maxAttempts: 3 })), "api");
    const hash = (id: string) => queueKeys(prefix, "marked").jobPrefix + id;
    // Redis is new: the first run restores both jobs and sets the marker.
    expect(await reconcilerOver(history).runOnce()).toMatchObject({ mode: "restore", requeuedJobIds: ids });
    expect(await state.intact()).toBe(true);

    // Redis loses everything while a periodic run is under way.
    let wiped = false;
    const wiping: HistoryClient = {
      ...history,
      listUnfinishedJobs: async (page, signal) => {
        if (!wiped) {
          wiped = true;
          await deleteKeysWithPrefix(testRedisUrl(), `${prefix}:`);
        }
        return history.listUnfinishedJobs(page, signal);
      },
    };
    expect(await reconcilerOver(wiping).runOnce()).toMatchObject({ mode: "incremental" });
    expect(wiped).toBe(true);
    expect(await redis.exists(hash(ids[0]!))).toBe(0);
    // The run's end did not recreate the marker: the watch still sees the loss.
    expect(await state.intact()).toBe(false);
    expect(await reconcilerOver(history).runOnce()).toMatchObject({ mode: "restore", requeuedJobIds: ids });
    expect(await redis.exists(hash(ids[0]!), hash(ids[1]!))).toBe(2);
    expect(await state.intact()).toBe(true);
  });

  it("is not set by a restore during which Redis lost its data again", async () => {
    let wiped = false;
    const wiping: HistoryClient = {
      ...history,
      listUnfinishedJobs: async (page, signal) => {
        const jobs = await history.listUnfinishedJobs(page, signal);
        if (!wiped) {
          wiped = true;
          await deleteKeysWithPrefix(testRedisUrl(), `${prefix}:`);
        }
        return jobs;
      },
    };
    expect(await reconcilerOver(wiping).runOnce()).toMatchObject({ mode: "restore" });
    expect(await state.intact()).toBe(false);
    expect(await reconcilerOver(history).runOnce()).toMatchObject({ mode: "restore" });
    expect(await state.intact()).toBe(true);
  });
});

describe("a restore after Redis lost its data", () => {
  it("puts back the pauses and limits of the operators' trail, before the jobs, keeping a control set since the loss", async () => {
    const [held, limited, resumed] = ["held", "limited", "resumed"].map((q) => `${q}-${uuidv7()}`) as [string, string, string];
    const actions: OperatorActionInit[] = [
      { actor: "api:ops", action: "queue.pause", target: held },
      { actor: "api:ops", action: "queue.limits", target: held, details: { maxRunning: 4, maxStarts: 0, perMs: 0, type: "t.slow" } },
      { actor: "api:ops", action: "queue.limits", target: limited, details: { maxRunning: 2, maxStarts: 10, perMs: 1000 } },
      { actor: "api:ops", action: "queue.pause", target: resumed },
      { actor: "api:ops", action: "queue.resume", target: resumed },
      { actor: "api:ops", action: "queue.limits", target: resumed, details: { maxRunning: 3, maxStarts: 0, perMs: 0 } },
      { actor: "api:ops", action: "queue.limits", target: resumed, details: { maxRunning: 0, maxStarts: 0, perMs: 0 } },
    ];
    for (const action of actions) await history.recordOperatorAction(action);
    // Set on the new Redis before the restore runs: kept.
    await redis.hset(queueKeys(prefix, limited).meta, "max_running", 9);

    const report = await reconcilerOver(history).runOnce();
    expect(report?.mode).toBe("restore");
    const store = new QueueStore({ redis, keyPrefix: prefix, leaseMs: 30_000, retryBaseMs: 1_000, retryMaxMs: 60_000 });
    const [h, l, r] = await store.controls([held, limited, resumed]);
    expect(h!.pause).toMatchObject({ actor: "api:ops" });
    expect(h!.pause!.atMs).toBeGreaterThan(Date.now() - 60_000);
    expect(h!.typeLimits).toEqual([{ type: "t.slow", limits: { maxRunning: 4, maxStarts: 0, perMs: 0 }, running: 0 }]);
    expect(l).toMatchObject({ pause: undefined, limits: { maxRunning: 9, maxStarts: 10, perMs: 1000 } });
    expect(r).toEqual({ pause: undefined, limits: { maxRunning: 0, maxStarts: 0, perMs: 0 }, typeLimits: [] });
    // The queues are swept again, so they are listed.
    expect(await store.knownQueues()).toEqual(expect.arrayContaining([held, limited]));
  });
});
