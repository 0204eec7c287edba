import { fromJsonString, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import type { Redis } from "ioredis";
import { fromRedisError } from "../errors.js";
import type { JobEventInit } from "../history-client.js";
import { queueKeys } from "./keys.js";
import { eventTypeOf, jobStatusOf } from "./status-text.js";

/** Consumer group every scheduler replica reads the outboxes with. */
export const OUTBOX_GROUP = "forwarder";

/** One outbox stream entry; `fields` is undefined for an entry deleted while pending. */
export interface OutboxEntry {
  id: string;
  fields: Record<string, string> | undefined;
}

type RawEntry = [id: string, fields: string[] | null];

/** An outbox entry history cannot apply, and why. */
export interface ParkedEntry {
  entry: OutboxEntry;
  error: string;
}

/** Dead letters kept per queue (approximately); older ones are trimmed as new ones arrive. */
export const DEAD_LETTER_MAX_LEN = 10_000;

/**
 * Reads the per-queue outbox streams as one consumer of the forwarder group.
 * Entries stay pending until {@link ack}, so a crash between reading and
 * history answering loses nothing: the same consumer re-reads its pending
 * entries, and another replica claims them once they sit idle too long.
 */
export class OutboxReader {
  private readonly groups = new Set<string>();

  constructor(
    private readonly redis: Redis,
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
   * Acknowledges and deletes handled entries in one MULTI; the `parked` ones (among `ids`) are
   * first copied to the queue's dead-letter stream with their error, in the same transaction,
   * so a crash cannot acknowledge an entry without parking it.
   * @throws unavailable when Redis fails; a command's own error (e.g. the dead-letter key
   *   holding another type) as it is, after the transaction ran.
   */
  async ack(queue: string, ids: readonly string[], parked: readonly ParkedEntry[] = []): Promise<void> {
    if (ids.length === 0) return;
    const k = queueKeys(this.keyPrefix, queue);
    const tx = this.redis.multi();
    for (const p of parked) {
      const fields = Object.entries(p.entry.fields ?? {}).flat();
      tx.xadd(k.outboxDead, "MAXLEN", "~", DEAD_LETTER_MAX_LEN, "*", ...fields, "entry_id", p.entry.id, "park_error", p.error);
    }
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await tx.xack(k.outbox, OUTBOX_GROUP, ...ids).xdel(k.outbox, ...ids).exec();
    } catch (err) {
      throw fromRedisError(err);
    }
    const failed = replies?.find(([err]) => err !== null);
    if (failed !== undefined) throw failed[0] as Error;
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

function toEntry([id, fields]: RawEntry): OutboxEntry {
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
