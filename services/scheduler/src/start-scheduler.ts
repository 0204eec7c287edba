import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import { createLogger, readCredentials, startAuth, type Authenticator } from "@taskflow/service-kit";
import { redisTargetOf, type SchedulerConfig } from "./config.js";
import type { Deps } from "./deps.js";
import { GroupCommit } from "./group-commit.js";
import { createHistoryClient } from "./history-client.js";
import { ExpireLeases } from "./loops/expire-leases.js";
import { FireSchedules } from "./loops/fire-schedules.js";
import { ForwardOutbox } from "./loops/forward-outbox.js";
import { DueTimer } from "./loops/due-timer.js";
import { PromoteDelayed } from "./loops/promote-delayed.js";
import { Reconciler } from "./loops/reconcile.js";
import { SendPresence } from "./loops/send-presence.js";
import { SendProgress } from "./loops/send-progress.js";
import { TendQueues } from "./loops/tend-queues.js";
import { createSchedulerMetrics } from "./metrics.js";
import { checkEvictionPolicy } from "./redis/check-eviction-policy.js";
import { DueChannel } from "./redis/due-channel.js";
import { LeaseWaiters } from "./redis/lease-waiters.js";
import { OutboxReader } from "./redis/outbox.js";
import { QueueStore } from "./redis/queue-store.js";
import { readQueueStats } from "./redis/queue-stats.js";
import { ParkedEvents } from "./redis/parked-events.js";
import { ReconcileLock } from "./redis/reconcile-lock.js";
import { ReconcileStateStore } from "./redis/reconcile-state.js";
import { RecoveryStore } from "./redis/recovery-store.js";
import { ScheduleStore } from "./redis/schedule-store.js";
import { SubmitLimiter } from "./redis/submit-limiter.js";
import { closeRedis, connectRedis, type RedisClient } from "./redis/redis-client.js";
import { WorkerRegistry } from "./redis/worker-registry.js";
import { insertGroup } from "./rpc/submit-jobs.js";
import { createServer } from "./server.js";
import { ChildSettler } from "./settle-children.js";
import type { NewJob } from "./validate.js";

/**
 * Most payload bytes of one group of submits committed together; a larger single submit goes
 * alone. Well under history's read limit, so a group is never refused for its size.
 */
const SUBMIT_GROUP_MAX_BYTES = 2 * 1_048_576;

/** A running scheduler. */
export interface RunningScheduler {
  /** `http://host:port` with the port actually bound. */
  url: string;
  /** Stops the loops, the server (answering pending long polls first), then the Redis connections. */
  close(): Promise<void>;
}

interface Loop {
  start(): void;
  stop(): Promise<void>;
}

/** Longest wait for one Redis command on the main connection, in milliseconds. */
const REDIS_COMMAND_TIMEOUT_MS = 1_000;

/**
 * Connects to Redis (one server, or a Redis Cluster when `redisClusterNodes` names one), checks
 * that it never evicts keys, starts the background loops and serves the scheduler; logs
 * `listening` with the url once the port is bound (port 0 picks one).
 * @throws when Redis cannot be reached, may evict keys (EvictionPolicyError, unless
 *   `redisAllowEviction`), or the port cannot be bound (nothing is left running).
 */

export async function startScheduler(config: SchedulerConfig, opts: { logger?: Logger } = {}): Promise<RunningScheduler> {
  const logger = opts.logger ?? createLogger({ name: "scheduler", level: config.logLevel, secretKeys: config.secretPayloadKeys });
  const authenticator = startAuth(config.auth, [config.host], logger);
  try {
    return await startWithAuth(config, logger, authenticator);
  } catch (err) {
    authenticator?.close();
    throw err;
  }
}

async function startWithAuth(config: SchedulerConfig, logger: Logger, authenticator: Authenticator | undefined): Promise<RunningScheduler> {
  // No offline queue: while Redis is down, calls fail at once as `unavailable` instead
  // of piling up. Auto-pipelining sends the per-queue script calls of one request in one write.
  // A command Redis does not answer within a second (a connection cut mid-command, which
  // ioredis can otherwise leave pending) fails as unavailable too; every script is O(batch).
  const target = redisTargetOf(config);
  const redis = await connectRedis(target, logger, {
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
  });
  await checkEvictionPolicy(redis, { allowEviction: config.redisAllowEviction, logger }).catch((err: unknown) => {
    redis.disconnect();
    throw err;
  });
  const subscriber = await connectRedis(target, logger, {}).catch((err: unknown) => {
    redis.disconnect();
    throw err;
  });
  const disconnect = async (): Promise<void> => {
    await Promise.all([closeRedis(redis), closeRedis(subscriber)]);
  };
  const { deps, loops, dueTimer } = assemble(config, logger, redis, subscriber, authenticator);
  try {
    await deps.waiters.start();
    await dueTimer.listen();
    for (const loop of loops) loop.start();
    const server = await createServer(deps);
    logger.info({ url: server.url }, "listening");
    return {
      url: server.url,
      close: async () => {
        await Promise.all(loops.map((l) => l.stop()));
        await deps.waiters.close();
        await server.close();
        await disconnect();
        authenticator?.close();
      },
    };
  } catch (err) {
    await Promise.all(loops.map((l) => l.stop()));
    await disconnect();
    throw err;
  }
}

/** Builds the handlers' dependencies and the background loops over two Redis connections. */
function assemble(
  config: SchedulerConfig,
  logger: Logger,
  redis: RedisClient,
  subscriber: RedisClient,
  authenticator: Authenticator | undefined,
): { deps: Deps; loops: Loop[]; dueTimer: DueTimer } {
  const prefix = config.redisKeyPrefix;
  const scriptOptions = { checkKeys: config.checkScriptKeys };
  const waiters = new LeaseWaiters(redis, subscriber, prefix, logger.child({ component: "lease-waiters" }));
  const store = new QueueStore({ ...config, redis, keyPrefix: prefix });
  const channel = new DueChannel(redis, subscriber, prefix, logger.child({ component: "due-channel" }));
  const dueTimer = new DueTimer({ store, waiters, channel, logger });
  const history = createHistoryClient(config.historyUrl, readCredentials(config.historyCredentials, logger));
  // One consumer per process: a restarted process must not inherit a dead one's pending entries
  // by name; those are claimed once idle.
  const consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  const reader = new OutboxReader(redis, prefix, consumer);
  const parked = new ParkedEvents(redis, prefix);
  const metrics = createSchedulerMetrics(async () => readQueueStats(redis, prefix, await store.knownQueues()));
  const loopDeps = { store, waiters, intervalMs: config.sweepIntervalMs, logger };
  const forward = new ForwardOutbox({
    ...loopDeps,
    reader,
    history,
    batchSize: config.outboxBatchSize,
    batchMaxBytes: config.outboxBatchMaxBytes,
    claimIdleMs: config.outboxClaimIdleMs,
    parked: metrics.outboxParked,
    settleChildren: (ids) => flows.settleIds(ids),
  });
  const eventsWritten = (): void => forward.nudge();
  const recovery = new RecoveryStore(redis, prefix, { types: store.types, ...scriptOptions });
  const flows = new ChildSettler({ history, recovery, store, waiters, dueTimer, eventsWritten, defaultTimeoutMs: config.defaultTimeoutMs, logger });
  const schedules = new ScheduleStore(redis, prefix, scriptOptions);
  const reconciler = new Reconciler({
    store, recovery, history, schedules, waiters, logger, eventsWritten, metrics, dueTimer, flows,
    lock: new ReconcileLock(redis, prefix, undefined, scriptOptions),
    state: new ReconcileStateStore(redis, prefix, scriptOptions),
    intervalMs: config.reconcileIntervalMs,
    watchIntervalMs: config.sweepIntervalMs,
    graceMs: config.reconcileGraceMs,
    maxJobsPerRun: config.reconcileMaxJobs,
    defaultTimeoutMs: config.defaultTimeoutMs,
  });
  const presence = new SendPresence({ history, intervalMs: config.sweepIntervalMs, logger });
  const progress = new SendProgress({ history, intervalMs: config.sweepIntervalMs, logger });
  const submits = new GroupCommit(insertGroup({ history }), {
    maxInFlight: config.submitGroupsInFlight,
    maxItems: config.maxSubmitBatch,
    maxWeight: SUBMIT_GROUP_MAX_BYTES,
    weight: (job: NewJob) => job.payloadJson.length,
  });
  const deps: Deps = {
    config, store, recovery, schedules, reconciler, metrics, waiters, dueTimer, history, presence, progress, parked, logger, eventsWritten, submits, authenticator, flows,
    workers: new WorkerRegistry(redis, prefix),
    submitLimiter: new SubmitLimiter(redis, prefix, config.submitRates, scriptOptions),
  };
  const expire = new ExpireLeases({ ...loopDeps, eventsWritten, jobsExpired: metrics.jobsExpired });
  const tend = new TendQueues({
    store, reader, logger,
    intervalMs: config.queueTendIntervalMs,
    idleMs: config.queueIdleMs,
    consumerIdleMs: config.queueIdleMs,
    now: () => recovery.now(),
  });
  const promote = new PromoteDelayed({ ...loopDeps, intervalMs: config.promoteSweepIntervalMs, timer: dueTimer });
  const fire = new FireSchedules(deps, {
    intervalMs: config.schedulePollIntervalMs,
    misfireMs: config.scheduleMisfireMs,
    firingLeaseMs: config.scheduleFiringLeaseMs,
  });
  return { deps, loops: [dueTimer, promote, expire, forward, reconciler, presence, progress, tend, fire], dueTimer };
}
