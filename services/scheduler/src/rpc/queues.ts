import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, durationMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { QueueLimits as QueueLimitsMessage, QueueLimitsSchema, QueueSchema, QueueService } from "@taskflow/proto";
import { actorOf } from "@taskflow/service-kit";
import type { Deps } from "../deps.js";
import { invalidArgument } from "../errors.js";
import type { QueueLimits } from "../redis/queue-store.js";
import { readQueueStats } from "../redis/queue-stats.js";
import { NAME_PATTERN } from "../validate.js";

type QueueInit = MessageInitShape<typeof QueueSchema>;

/** Largest max_running and max_starts a queue may be given. */
export const MAX_QUEUE_RUNNING = 100_000;
export const MAX_QUEUE_STARTS = 1_000_000;
const DAY_MS = 86_400_000;

/**
 * QueueService: the scheduler's queues as Redis holds them, their pause and their limits. Both
 * are fields of the queue's meta hash that the lease script reads, so they hold on every
 * replica from the answer on; resuming or raising a limit wakes the workers waiting on the
 * queue at once. Each change is recorded in history's operator actions, with the verified
 * actor, before it is made: history down, nothing changes (`unavailable`).
 */
export const queueService = (d: Deps): ServiceImpl<typeof QueueService> => ({
  async listQueues() {
    const { queues, omitted } = await readQueues(d, await d.store.knownQueues());
    return { queues, omitted };
  },

  async getQueue(req) {
    return { queue: await readOne(d, checkName(req.name)) };
  },

  async pauseQueue(req, ctx) {
    const name = checkName(req.name);
    const actor = actorOf(ctx, "api");
    await d.history.recordOperatorAction({ actor, action: "queue.pause", target: name }, ctx.signal);
    await d.store.pause(name, actor);
    d.logger.info({ queue: name, actor }, "queue paused");
    return { queue: await readOne(d, name) };
  },

  async setQueueLimits(req, ctx) {
    const name = checkName(req.name);
    const limits = parseLimits(req.limits);
    if (req.type !== "" && !NAME_PATTERN.test(req.type)) throw invalidArgument("type", "must be empty or a job type (1 to 128 of A-Z a-z 0-9 . _ : -)");
    const actor = actorOf(ctx, "api");
    const details = req.type === "" ? { ...limits } : { ...limits, type: req.type };
    await d.history.recordOperatorAction({ actor, action: "queue.limits", target: name, details }, ctx.signal);
    const ready = await d.store.setLimits(name, limits, req.type);
    if (ready.size > 0) await d.waiters.announce([{ queue: name, ready }]);
    d.logger.info({ queue: name, actor, limits, type: req.type }, "queue limits set");
    return { queue: await readOne(d, name) };
  },

  async resumeQueue(req, ctx) {
    const name = checkName(req.name);
    const actor = actorOf(ctx, "api");
    await d.history.recordOperatorAction({ actor, action: "queue.resume", target: name }, ctx.signal);
    const ready = await d.store.resume(name);
    if (ready.size > 0) await d.waiters.announce([{ queue: name, ready }]);
    d.logger.info({ queue: name, actor }, "queue resumed");
    return { queue: await readOne(d, name) };
  },
});

function checkName(name: string): string {
  if (!NAME_PATTERN.test(name)) throw invalidArgument("name", "must be a queue name (1 to 128 of A-Z a-z 0-9 . _ : -)");
  return name;
}

function parseLimits(m: QueueLimitsMessage | undefined): QueueLimits {
  const maxRunning = m?.maxRunning ?? 0;
  const maxStarts = m?.maxStarts ?? 0;
  if (maxRunning < 0 || maxRunning > MAX_QUEUE_RUNNING) throw invalidArgument("limits.max_running", `must be from 0 to ${MAX_QUEUE_RUNNING}`);
  if (maxStarts < 0 || maxStarts > MAX_QUEUE_STARTS) throw invalidArgument("limits.max_starts", `must be from 0 to ${MAX_QUEUE_STARTS}`);
  if (maxStarts === 0) {
    if (m?.per !== undefined) throw invalidArgument("limits.per", "must be unset without max_starts");
    return { maxRunning, maxStarts: 0, perMs: 0 };
  }
  const perMs = m?.per === undefined ? 0 : durationMs(m.per);
  if (!Number.isInteger(perMs) || perMs < 1 || perMs > DAY_MS) throw invalidArgument("limits.per", "must be from 1 ms to 1 day, in whole ms, with max_starts");
  return { maxRunning, maxStarts, perMs };
}

async function readOne(d: Deps, name: string): Promise<QueueInit> {
  const { queues } = await readQueues(d, [name]);
  return queues[0]!;
}

/** What Redis holds of `names` (the first 1,000 by name), with their pauses. */
async function readQueues(d: Deps, names: readonly string[]): Promise<{ queues: QueueInit[]; omitted: number }> {
  const snapshot = await readQueueStats(d.store.redis, d.config.redisKeyPrefix, names);
  const controls = await d.store.controls(snapshot.queues.map((q) => q.queue));
  const queues = snapshot.queues.map((q, i): QueueInit => {
    const { pause, limits, typeLimits } = controls[i]!;
    return {
      name: q.queue,
      ready: BigInt(q.ready),
      delayed: BigInt(q.delayed),
      leased: BigInt(q.leased),
      outbox: BigInt(q.outbox),
      parked: BigInt(q.parked),
      completedLastMinute: BigInt(q.completedLastMinute),
      oldestReadyAge: q.oldestReadyMs === undefined ? undefined : durationFromMs(Math.max(0, Math.round(snapshot.nowMs - q.oldestReadyMs))),
      paused: pause !== undefined,
      pausedAt: pause === undefined ? undefined : timestampFromMs(pause.atMs),
      pausedBy: pause?.actor ?? "",
      limits: limits.maxRunning > 0 || limits.maxStarts > 0 ? toLimitsMessage(limits) : undefined,
      typeLimits: typeLimits.map((t) => ({ type: t.type, limits: toLimitsMessage(t.limits), running: BigInt(t.running) })),
    };
  });
  return { queues, omitted: snapshot.omitted };
}

function toLimitsMessage(limits: QueueLimits): MessageInitShape<typeof QueueLimitsSchema> {
  return {
    maxRunning: limits.maxRunning,
    maxStarts: limits.maxStarts,
    per: limits.maxStarts > 0 ? durationFromMs(limits.perMs) : undefined,
  };
}
