import { Redis } from "ioredis";
import pg from "pg";
import pino from "pino";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPrivateRedis, type PrivateRedis } from "@taskflow/testkit";
import { makeJob } from "../../test/redis-fixture.js";
import { startTestHistory } from "../../test/stack.js";
import { createHistoryClient } from "../history-client.js";
import { LeaseWaiters } from "../redis/lease-waiters.js";
import { QueueStore } from "../redis/queue-store.js";
import { ReconcileLock } from "../redis/reconcile-lock.js";
import { idFloor, ReconcileStateStore } from "../redis/reconcile-state.js";
import { RecoveryStore } from "../redis/recovery-store.js";
import { Reconciler } from "./reconcile.js";

const WAITING = 200_000;
const GRACE_MS = 60_000;
const INTERVAL_MS = 30_000;
const MAX_JOBS = 10_000;
const QUEUE = "backlog";
const YEAR_MS = 365 * 86_400_000;

let redisServer: PrivateRedis;
let redis: Redis;
let hist: Awaited<ReturnType<typeof startTestHistory>>;
let reconciler: Reconciler;
let state: ReconcileStateStore;

/** Commits `ids` to history as pending jobs (as SubmitJobs would, in bulk). */
async function commitPending(databaseUrl: string, ids: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (let i = 0; i < ids.length; i += 20_000) {
      await client.query(
        `INSERT INTO jobs (id, type, queue, payload, status, created_at, updated_at, scheduled_at)
         SELECT id, 't.x', $2, '{}', 'pending', taskflow_uuid_time(id), now(), now() + interval '1 year'
         FROM unnest($1::uuid[]) AS t(id)`,
        [ids.slice(i, i + 20_000), QUEUE],
      );
    }
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  [redisServer, hist] = await Promise.all([startPrivateRedis(), startTestHistory()]);
  redis = new Redis(redisServer.url);
  const prefix = "tf";
  const store = new QueueStore({ redis, keyPrefix: prefix, leaseMs: 30_000, retryBaseMs: 1_000, retryMaxMs: 60_000 });
  // 200,000 jobs waiting a year ahead, created over the last hour: in both stores, agreeing.
  const now = Date.now();
  const ids = Array.from({ length: WAITING }, (_, i) => uuidv7({ msecs: now - GRACE_MS - 3_600_000 + Math.floor(i / 60) }));
  await commitPending(hist.databaseUrl, ids);
  await store.addQueues([QUEUE]);
  for (let i = 0; i < ids.length; i += 5_000) {
    await store.enqueue(QUEUE, ids.slice(i, i + 5_000).map((id) => makeJob({ id, type: "t.x", runAtMs: now + YEAR_MS })));
  }
  state = new ReconcileStateStore(redis, prefix);
  // As a completed earlier run leaves it: everything created before the grace period was checked.
  await state.reset({ cursor: idFloor(now - GRACE_MS), walk: undefined });
  reconciler = new Reconciler({
    store,
    recovery: new RecoveryStore(redis, prefix),
    history: createHistoryClient(hist.internalUrl),
    waiters: new LeaseWaiters(redis, redis, prefix, pino({ level: "silent" })),
    logger: pino({ level: "silent" }),
    eventsWritten: () => undefined,
    lock: new ReconcileLock(redis, prefix),
    state,
    intervalMs: INTERVAL_MS,
    watchIntervalMs: INTERVAL_MS,
    graceMs: GRACE_MS,
    maxJobsPerRun: MAX_JOBS,
    defaultTimeoutMs: 300_000,
  });
}, 180_000);

afterAll(async () => {
  redis?.disconnect();
  await hist?.close();
  await redisServer?.stop();
});

describe("Reconciler at scale", () => {
  it("keeps a periodic run over 200,000 waiting jobs well inside its interval, going on where the last one stopped", async () => {
    const started = performance.now();
    const report = await reconciler.runOnce();
    const elapsedMs = performance.now() - started;
    // Nothing was created since the last run, and the walk of Redis's sets covers one stretch.
    expect(report).toMatchObject({ mode: "incremental", unfinishedChecked: 0, requeuedJobIds: [], droppedJobIds: [] });
    expect(report!.redisChecked).toBeGreaterThan(0);
    expect(report!.redisChecked).toBeLessThanOrEqual(MAX_JOBS + 1_000);
    expect(elapsedMs).toBeLessThan(INTERVAL_MS / 10);
    const after = await state.read();
    expect(after!.walk).toMatchObject({ queue: QUEUE });

    // Further runs go on from there and come round after the whole backlog.
    let checked = report!.redisChecked;
    for (let run = 0; run < 40 && (await state.read())!.walk !== undefined; run += 1) {
      checked += (await reconciler.runOnce())!.redisChecked;
    }
    expect((await state.read())!.walk).toBeUndefined();
    expect(checked).toBeGreaterThanOrEqual(WAITING);
  }, 180_000);
});
