import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { QueueSchema, QueueService } from "@taskflow/proto";
import { actorOf } from "@taskflow/service-kit";
import type { Deps } from "../deps.js";
import { invalidArgument } from "../errors.js";
import { readQueueStats } from "../redis/queue-stats.js";
import { NAME_PATTERN } from "../validate.js";

type QueueInit = MessageInitShape<typeof QueueSchema>;

/**
 * QueueService: the scheduler's queues as Redis holds them, and their pause. A pause is a
 * field of the queue's meta hash that the lease script reads, so it holds on every replica
 * from the answer on; resuming wakes the workers waiting on the queue at once.
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
    await d.store.pause(name, actor);
    d.logger.info({ queue: name, actor }, "queue paused");
    return { queue: await readOne(d, name) };
  },

  async resumeQueue(req, ctx) {
    const name = checkName(req.name);
    const ready = await d.store.resume(name);
    if (ready.size > 0) await d.waiters.announce([{ queue: name, ready }]);
    d.logger.info({ queue: name, actor: actorOf(ctx, "api") }, "queue resumed");
    return { queue: await readOne(d, name) };
  },
});

function checkName(name: string): string {
  if (!NAME_PATTERN.test(name)) throw invalidArgument("name", "must be a queue name (1 to 128 of A-Z a-z 0-9 . _ : -)");
  return name;
}

async function readOne(d: Deps, name: string): Promise<QueueInit> {
  const { queues } = await readQueues(d, [name]);
  return queues[0]!;
}

/** What Redis holds of `names` (the first 1,000 by name), with their pauses. */
async function readQueues(d: Deps, names: readonly string[]): Promise<{ queues: QueueInit[]; omitted: number }> {
  const snapshot = await readQueueStats(d.store.redis, d.config.redisKeyPrefix, names);
  const pauses = await d.store.pauses(snapshot.queues.map((q) => q.queue));
  const queues = snapshot.queues.map((q): QueueInit => {
    const pause = pauses.get(q.queue);
    return {
      name: q.queue,
      ready: BigInt(q.ready),
      delayed: BigInt(q.delayed),
      leased: BigInt(q.leased),
      outbox: BigInt(q.outbox),
      parked: BigInt(q.parked),
      oldestReadyAge: q.oldestReadyMs === undefined ? undefined : durationFromMs(Math.max(0, Math.round(snapshot.nowMs - q.oldestReadyMs))),
      paused: pause !== undefined,
      pausedAt: pause === undefined ? undefined : timestampFromMs(pause.atMs),
      pausedBy: pause?.actor ?? "",
    };
  });
  return { queues, omitted: snapshot.omitted };
}
