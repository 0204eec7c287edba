import { fromJsonString, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { fromRedisError } from "../errors.js";
import type { JobEventInit } from "../history-client.js";
import { queueKeys } from "./keys.js";
import type { RedisClient } from "./redis-client.js";
import { eventTypeOf, jobStatusOf } from "./status-text.js";

/** Consumer group every scheduler replica reads the outboxes with. */
export const OUTBOX_GROUP = "forwarder";

/** One outbox stream entry; `fields` is undefined for an entry deleted while pending. */
export interface OutboxEntry {
  id: string;
  fields: Record<string, string> | undefined;
}

/** Bytes an entry takes on the wire to history, roughly: its field names and values. */
export function entryBytes(entry: OutboxEntry): number {
  let n = 0;
  for (const [name, value] of Object.entries(entry.fields ?? {})) n += name.length + Buffer.byteLength(value, "utf8");
  return n;
}

export type RawEntry = [id: string, fields: string[] | null];

/** An outbox entry history cannot apply, and why. */
export interface ParkedEntry {
  entry: OutboxEntry;
  error: string;
}

/**
 * How long a finished job's hash stays once history has recorded how it ended, in ms: a
 * retried report is answered DUPLICATE and a cancel "finished" meanwhile. Until history has
 * recorded it, the hash does not expire at all (see `finish` in include/common.lua).
 */
export const FINISHED_JOB_TTL_MS = 3_600_000;

/**
 * Gives the finished jobs among KEYS their expiry, ARGV[1] ms: only hashes still finished
 * (`done`), so an acknowledgement that comes late (a second forwarder's, after a claim) cannot
 * expire the live hash an operator's retry put in a tombstone's place.
 */
const EXPIRE_FINISHED = `for _, key in ipairs(KEYS) do
  if redis.call('HGET', key, 'state') == 'done' then redis.call('PEXPIRE', key, ARGV[1]) end
end`;

/** Adds to `tx` the expiry of the hashes of `ids`, jobs of one queue whose end history recorded (see EXPIRE_FINISHED). */
export function expireFinished(tx: ReturnType<RedisClient["multi"]>, jobPrefix: string, ids: readonly string[]): void {
  if (ids.length > 0) tx.eval(EXPIRE_FINISHED, ids.length, ...ids.map((id) => jobPrefix + id), FINISHED_JOB_TTL_MS);
}

const TERMINAL_STATUSES = new Set(["completed", "failed", "cancelled"]);

/** Whether an outbox entry ends its job (a terminal status). */
export const endsJob = (entry: OutboxEntry): boolean => TERMINAL_STATUSES.has(entry.fields?.status ?? "");

/** What the forwarder tells the reader once history answered a batch. */
export interface Handled {
  /** Entries to acknowledge and delete: every entry of the batch. */
  ids: readonly string[];
  /** Among them, the entries history cannot apply, moved to the parked stream with their error. */
  parked?: readonly ParkedEntry[];
  /** Jobs whose end history now holds: their hashes get {@link FINISHED_JOB_TTL_MS}. */
  ended?: readonly string[];
}

/**
 * Reads the per-queue outbox streams as one consumer of the forwarder group.
 * Entries stay pending until {@link ack}, so a crash between reading and
 * history answering loses nothing: the same consumer re-reads its pending
 * entries, and another replica claims them once they sit idle too long.
 */
export class OutboxReader {
  private readonly groups = new Set<string>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    /** This process's consumer name, unique per process. */
    readonly consumer: string,
  ) {}

  /**
   * Up to `count` entries of `queue`'s outbox: this consumer's own pending
   * entries first (a failed forward is retried in order), then entries other
   * consumers left idle for `claimIdleMs`, then new ones.
   */
  async read(queue: string, count: number, claimIdleMs: number): Promise<OutboxEntry[]> {
    try {
      return await this.readOrClaim(queue, count, claimIdleMs);
    } catch (err) {
      // The stream (and its group) vanished, e.g. Redis was wiped: create it again next time.
      if (err instanceof Error && err.message.includes("NOGROUP")) this.groups.delete(queue);
      throw fromRedisError(err);
    }
  }

  /**
   * Acknowledges and deletes handled entries in one MULTI; the parked ones are first copied to
   * the queue's parked stream with their error, and the hashes of jobs whose end history has
   * recorded get their expiry, in the same transaction, so a crash cannot acknowledge an entry
   * without parking it, nor expire a job history does not hold as finished.
   * @throws unavailable when Redis fails; a command's own error (e.g. the parked key holding
   *   another type) as it is, after the transaction ran.
   */
  async ack(queue: string, handled: Handled): Promise<void> {
    if (handled.ids.length === 0) return;
    const k = queueKeys(this.keyPrefix, queue);
    const tx = this.redis.multi();
    for (const p of handled.parked ?? []) {
      const fields = Object.entries(p.entry.fields ?? {}).flat();
      tx.xadd(k.outboxDead, "*", ...fields, "entry_id", p.entry.id, "park_error", p.error);
    }
    expireFinished(tx, k.jobPrefix, handled.ended ?? []);
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await tx.xack(k.outbox, OUTBOX_GROUP, ...handled.ids).xdel(k.outbox, ...handled.ids).exec();
    } catch (err) {
      throw fromRedisError(err);
    }
    const failed = replies?.find(([err]) => err !== null);
    if (failed !== undefined) throw failed[0] as Error;
  }

  /**
   * Removes the consumers of `queue`'s forwarder group that hold no pending entry and have not
   * read for `idleMs`: those of scheduler processes that are gone (a live replica reads every
   * sweep, and would simply be created again). Resolves to how many were removed.
   */
  async removeIdleConsumers(queue: string, idleMs: number): Promise<number> {
    const key = queueKeys(this.keyPrefix, queue).outbox;
    let removed = 0;
    try {
      const consumers = (await this.redis.call("XINFO", "CONSUMERS", key, OUTBOX_GROUP)) as unknown[][];
      for (const info of consumers) {
        const c = fieldsOf(info);
        if (c.name === this.consumer || Number(c.pending) !== 0 || Number(c.idle) < idleMs) continue;
        await this.redis.call("XGROUP", "DELCONSUMER", key, OUTBOX_GROUP, String(c.name));
        removed += 1;
      }
    } catch (err) {
      // No stream or no group yet: no consumers to remove.
      if (err instanceof Error && /no such key|NOGROUP/i.test(err.message)) return 0;
      throw fromRedisError(err);
    }
    return removed;
  }

  /** Forgets the cached consumer groups of queues not in `queues` (forgotten queues). */
  retainGroups(queues: readonly string[]): void {
    const keep = new Set(queues);
    for (const q of this.groups) if (!keep.has(q)) this.groups.delete(q);
  }

  private async readOrClaim(queue: string, count: number, claimIdleMs: number): Promise<OutboxEntry[]> {
    const key = queueKeys(this.keyPrefix, queue).outbox;
    await this.ensureGroup(key, queue);
    const own = await this.readGroup(key, count, "0");
    if (own.length > 0) return own;
    const claimed = (await this.redis.call(
      "XAUTOCLAIM", key, OUTBOX_GROUP, this.consumer, claimIdleMs, "0-0", "COUNT", count,
    )) as [string, RawEntry[], string[]];
    if (claimed[1].length > 0) return claimed[1].map(toEntry);
    return this.readGroup(key, count, ">");
  }

  private async readGroup(key: string, count: number, from: string): Promise<OutboxEntry[]> {
    const reply = await this.redis.call(
      "XREADGROUP", "GROUP", OUTBOX_GROUP, this.consumer, "COUNT", count, "STREAMS", key, from,
    );
    return streamItems(reply).map(toEntry);
  }

  private async ensureGroup(key: string, queue: string): Promise<void> {
    if (this.groups.has(queue)) return;
    try {
      await this.redis.call("XGROUP", "CREATE", key, OUTBOX_GROUP, "0", "MKSTREAM");
    } catch (err) {
      if (!(err instanceof Error && err.message.includes("BUSYGROUP"))) throw err;
    }
    this.groups.add(queue);
  }
}

/**
 * The entries of a one-stream XREADGROUP reply: RESP2 answers
 * `[[key, entries]]`, RESP3 (ioredis' default) a map that arrives as
 * `[key, entries]`; no entries is `null` in both.
 */
function streamItems(reply: unknown): RawEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const stream = typeof reply[0] === "string" ? reply : (reply[0] as unknown[]);
  return (stream[1] as RawEntry[] | undefined) ?? [];
}

/** An XINFO reply (`[name, value, ...]`, or a map in RESP3) as an object. */
function fieldsOf(info: unknown): Record<string, unknown> {
  if (!Array.isArray(info)) return (info ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < info.length; i += 2) out[String(info[i])] = info[i + 1];
  return out;
}

export function toEntry([id, fields]: RawEntry): OutboxEntry {
  if (fields === null) return { id, fields: undefined };
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
  return { id, fields: record };
}

/**
 * The JobEvent an outbox entry records (fields as the scripts' `emit` writes them).
 * @throws Error when the entry is malformed.
 */
export function toJobEvent(f: Record<string, string>): JobEventInit {
  const seq = Number(f.seq);
  const at = Number(f.at);
  if (!f.job || !Number.isInteger(seq) || !Number.isFinite(at)) throw new Error("malformed outbox entry");
  return {
    jobId: f.job,
    seq,
    type: eventTypeOf(f.type ?? ""),
    status: jobStatusOf(f.status ?? ""),
    attempt: Number(f.attempt ?? 0),
    workerId: f.worker ?? "",
    error: f.error ?? "",
    actor: f.actor ?? "",
    // Absent in entries written before the scripts recorded them: history then stores none.
    leaseId: f.lease ?? "",
    reason: f.reason ?? "",
    occurredAt: timestampFromMs(at),
    details: f.details === undefined ? undefined : (JSON.parse(f.details) as JsonObject),
    result: f.result === undefined ? undefined : fromJsonString(ValueSchema, f.result),
  };
}
