import { callRedis } from "../errors.js";
import { queueKeys } from "./keys.js";
import type { RedisClient } from "./redis-client.js";
import { timeReplyMs } from "./redis-clock.js";

/**
 * Most queues one scrape reports, in name order; the rest are left out (and counted in
 * `omitted`). Each queue costs six reads plus two per job type with ready jobs, so this bounds a
 * scrape to a few thousand reads however many queues callers create.
 */
export const MAX_REPORTED_QUEUES = 1_000;
/** Most job types per queue whose ready sets a scrape reads; a queue with more reports those only. */
export const MAX_REPORTED_TYPES = 100;

/** Ready times per priority step of a ready score, and their origin (see ready_score in include/common.lua). */
const PRIORITY_STEP = 4398046511104;
const EPOCH_2024_MS = 1704067200000;

/** What Redis holds of one queue at one moment. */
export interface QueueStats {
  queue: string;
  /** Jobs in the ready sets (of up to {@link MAX_REPORTED_TYPES} types). */
  ready: number;
  delayed: number;
  leased: number;
  /**
   * When the longest-waiting job at the head of a ready set became ready, ms since the Unix
   * epoch; undefined when none is ready. The head is the next job of its type to lease (highest
   * priority first), so a low-priority job waiting behind higher ones is not seen here.
   */
  oldestReadyMs: number | undefined;
  /** Outbox entries history has not recorded yet (read and unacknowledged ones included). */
  outbox: number;
  /** When the oldest of them was written (its stream id), ms since the Unix epoch. */
  oldestOutboxMs: number | undefined;
  /** Outbox entries history refused, parked until replayed. */
  parked: number;
  /**
   * Jobs completed in the last 60 s, estimated from the per-minute counts the report script
   * keeps: this minute's, plus the previous minute's weighted by the part of it still inside
   * the window.
   */
  completedLastMinute: number;
}

/** A scrape's reading: Redis's clock when it began, and the queues read. */
export interface QueueSnapshot {
  nowMs: number;
  queues: QueueStats[];
  /** Queues known but left out by {@link MAX_REPORTED_QUEUES}. */
  omitted: number;
}

/**
 * Reads the depth and recent throughput of `queues` (the first {@link MAX_REPORTED_QUEUES} by name) in two rounds of
 * reads that go out together (auto-pipelining; on a cluster, grouped per node): the counts of
 * each queue's sets and streams with its ready types, then the size and head of each ready set.
 * No script, so the reads need not share a slot.
 */
export async function readQueueStats(redis: RedisClient, keyPrefix: string, queues: readonly string[]): Promise<QueueSnapshot> {
  const chosen = [...queues].sort().slice(0, MAX_REPORTED_QUEUES);
  return callRedis(async () => {
    const [time, ...perQueue] = await Promise.all([redis.time(), ...chosen.map((q) => readQueue(redis, keyPrefix, q))]);
    const stats = await Promise.all(perQueue.map((q) => q.readReady()));
    return { nowMs: timeReplyMs(time), queues: stats, omitted: queues.length - chosen.length };
  });
}

async function readQueue(redis: RedisClient, keyPrefix: string, queue: string): Promise<{ readReady(): Promise<QueueStats> }> {
  const k = queueKeys(keyPrefix, queue);
  const nowMs = Date.now();
  const minute = Math.floor(nowMs / 60_000);
  const [types, delayed, leased, outbox, head, parked, thisMinute, lastMinute] = await Promise.all([
    redis.smembers(k.types),
    redis.zcard(k.delayed),
    redis.zcard(k.leased),
    redis.xlen(k.outbox),
    redis.xrange(k.outbox, "-", "+", "COUNT", 1),
    redis.xlen(k.outboxDead),
    redis.get(k.completedIn(minute)),
    redis.get(k.completedIn(minute - 1)),
  ]);
  const stillInWindow = 1 - (nowMs % 60_000) / 60_000;
  const completedLastMinute = Math.round(Number(thisMinute ?? 0) + Number(lastMinute ?? 0) * stillInWindow);
  const oldestOutboxMs = head[0] === undefined ? undefined : Number(head[0][0].split("-")[0]);
  const readReady = async (): Promise<QueueStats> => {
    const wanted = types.slice(0, MAX_REPORTED_TYPES);
    const sets = await Promise.all(
      wanted.map((t) => Promise.all([redis.zcard(k.ready(t)), redis.zrange(k.ready(t), 0, "0", "WITHSCORES")])),
    );
    let ready = 0;
    let oldestReadyMs: number | undefined;
    for (const [n, first] of sets) {
      ready += n;
      // Flat [id, score] (RESP2) or [[id, score]] (RESP3).
      const score = (first as unknown[]).flat()[1];
      const at = score === undefined ? undefined : readyAtMs(Number(score));
      if (at !== undefined && (oldestReadyMs === undefined || at < oldestReadyMs)) oldestReadyMs = at;
    }
    return { queue, ready, delayed, leased, oldestReadyMs, outbox, oldestOutboxMs, parked, completedLastMinute };
  };
  return { readReady };
}

/** When a job became ready, from its ready score: the score's part below one priority step. */
const readyAtMs = (score: number): number => EPOCH_2024_MS + (score % PRIORITY_STEP);
