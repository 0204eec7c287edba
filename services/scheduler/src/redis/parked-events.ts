import { callRedis, fromRedisError } from "../errors.js";
import { queueKeys } from "./keys.js";
import { expireFinished, toEntry, type OutboxEntry, type RawEntry } from "./outbox.js";
import type { RedisClient } from "./redis-client.js";

/** One parked outbox entry. */
export interface ParkedRecord {
  /** Its id in the parked stream (its time is when it was parked). */
  entryId: string;
  queue: string;
  /** The outbox entry's own fields, as the scripts wrote them. */
  fields: Record<string, string>;
  /** Why history refused it, or why it did not parse. */
  error: string;
}

/** What a replay made of parked entries, to settle in one transaction. */
export interface ReplayOutcome {
  /** Entries history recorded (or already held): no longer parked. */
  replayed: readonly ParkedRecord[];
  /** Entries refused again, with the new error: parked again under a new id. */
  refused: readonly { record: ParkedRecord; error: string }[];
  /** Jobs whose end history now holds: their hashes get their expiry. */
  ended: readonly string[];
}

/**
 * The parked outbox entries of each queue (`<prefix>:{<queue>}:outbox-dead`): kept, without
 * trimming, until an operator replays them, so no transition history refused is ever lost.
 */
export class ParkedEvents {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  /** Up to `count` entries of `queue` after `afterId` ("" for the first), oldest first. */
  async list(queue: string, afterId: string, count: number): Promise<ParkedRecord[]> {
    const key = queueKeys(this.keyPrefix, queue).outboxDead;
    const raw = (await callRedis(() =>
      this.redis.xrange(key, afterId === "" ? "-" : `(${afterId}`, "+", "COUNT", count),
    )) as RawEntry[];
    return raw.map((r) => toRecord(queue, toEntry(r)));
  }

  /** The entries of `queue` with these ids, in order; undefined for an id not parked. */
  async get(queue: string, ids: readonly string[]): Promise<(ParkedRecord | undefined)[]> {
    if (ids.length === 0) return [];
    const key = queueKeys(this.keyPrefix, queue).outboxDead;
    const replies = await callRedis(() => {
      const p = this.redis.pipeline();
      for (const id of ids) p.xrange(key, id, id);
      return p.exec();
    });
    return ids.map((_, i) => {
      const [err, raw] = replies?.[i] ?? [new Error("no reply")];
      if (err) throw fromRedisError(err);
      const [first] = raw as RawEntry[];
      return first === undefined ? undefined : toRecord(queue, toEntry(first));
    });
  }

  /**
   * Applies a replay's outcome atomically: replayed entries leave the parked stream, refused ones
   * are parked again with their new error, and ended jobs' hashes get their expiry.
   * @returns the refused entries as now parked (with their new ids), in order.
   */
  async settle(queue: string, outcome: ReplayOutcome): Promise<ParkedRecord[]> {
    const k = queueKeys(this.keyPrefix, queue);
    const gone = [...outcome.replayed, ...outcome.refused.map((r) => r.record)].map((r) => r.entryId);
    if (gone.length === 0) return [];
    const tx = this.redis.multi().xdel(k.outboxDead, ...gone);
    for (const { record, error } of outcome.refused) {
      tx.xadd(k.outboxDead, "*", ...Object.entries(record.fields).flat(), "park_error", error);
    }
    expireFinished(tx, k.jobPrefix, outcome.ended);
    const replies = await callRedis(() => tx.exec());
    const failed = replies?.find(([err]) => err !== null);
    if (failed !== undefined) throw failed[0] as Error;
    return outcome.refused.map(({ record, error }, i) => ({
      ...record,
      entryId: String(replies?.[1 + i]?.[1]),
      error,
    }));
  }

  /**
   * Parked entries per queue now. One command per queue, not a pipeline: queues live in other
   * slots (other nodes of a cluster); auto-pipelining still sends them together per node.
   */
  async counts(queues: readonly string[]): Promise<Map<string, number>> {
    const lengths = await callRedis(() =>
      Promise.all(queues.map((q) => this.redis.xlen(queueKeys(this.keyPrefix, q).outboxDead))),
    );
    return new Map(queues.map((q, i) => [q, Number(lengths[i] ?? 0)]));
  }
}

/** The outbox entry a parked record came from, for sending it again. */
export const asOutboxEntry = (r: ParkedRecord): OutboxEntry => ({ id: r.entryId, fields: r.fields });

function toRecord(queue: string, entry: OutboxEntry): ParkedRecord {
  const { park_error: error = "", entry_id: _original, ...fields } = entry.fields ?? {};
  return { entryId: entry.id, queue, fields, error };
}
