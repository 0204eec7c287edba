import { timestampMs } from "@bufbuild/protobuf/wkt";
import { type Job, JobStatus } from "@taskflow/proto";
import { callRedis, fromRedisError } from "../errors.js";
import { KnownTypes, runDeclaring, type DeclaringCall } from "./declared-types.js";
import { queueKeys, retryIntentsKey, type QueueKeys } from "./keys.js";
import type { CancelRequest } from "./job-records.js";
import { cancelDetails } from "./queue-store.js";
import { storedJobFields } from "../stored-job-fields.js";
import type { RedisClient } from "./redis-client.js";
import { defineScripts, type ScriptName, type ScriptOptions, type Scripts } from "./scripts.js";

/** A job and its queue. */
export interface JobRef {
  queue: string;
  id: string;
}

/** A job history holds as unfinished, to put back into Redis. Times are ms since the Unix epoch. */
export interface RestoreJob {
  id: string;
  type: string;
  payloadJson: string;
  priority: number;
  maxAttempts: number;
  /** Attempts started so far; kept, so a restored job still runs out of attempts. */
  attempts: number;
  timeoutMs: number;
  /** seq of history's newest event of the job; the next event gets seq + 1. */
  seq: number;
  /** When the job is due; a restored job waits in the delayed set until then. */
  scheduledMs: number;
  createdMs: number;
  /** History says a worker was running it: its lease was lost with Redis. */
  processing: boolean;
  /** Worker of the latest attempt, for the LEASE_EXPIRED event. */
  workerId: string;
  /** A released flow child's parents with their results, JSON text; "" for none. */
  parentsJson?: string;
}

/**
 * A job as history reports it, as the restore script takes it: attempts and newest event seq
 * kept, the timeout history names (else `defaultTimeoutMs`), running when history has it so.
 */
export function restoreJobOf(job: Job, defaultTimeoutMs: number): RestoreJob {
  return {
    ...storedJobFields(job, defaultTimeoutMs),
    attempts: job.attempts,
    seq: job.lastEventSeq,
    scheduledMs: job.scheduledAt === undefined ? 0 : timestampMs(job.scheduledAt),
    processing: job.status === JobStatus.PROCESSING,
    workerId: job.workerId,
  };
}

/** What restoring did to one job (the codes restore-jobs.lua answers). */
export enum RestoreOutcome {
  /** Redis holds the job (a submit or another replica got there first); nothing changed. */
  Present = 0,
  Ready = 1,
  Delayed = 2,
  /** It was running: LEASE_EXPIRED, back to ready. */
  LeaseExpired = 3,
  /** It was running its last attempt: LEASE_EXPIRED, failed. */
  Failed = 4,
}

/** A job history holds as unfinished and Redis does not, to cancel. */
export interface BuryJob {
  id: string;
  queue: string;
  type: string;
  /** seq of history's newest event of the job. */
  lastSeq: number;
  attempts: number;
}

/** How a buried job ends: the status and reason of its last event. */
export interface BuryEnd {
  status: "cancelled" | "failed";
  reason: string;
  /** Error of a failed job. */
  error?: string;
  /** Details of the event; undefined: the cancel request's. */
  details?: Record<string, string>;
}

const CANCEL_REQUESTED: BuryEnd = { status: "cancelled", reason: "cancel_requested" };

/** One step of a cursor walk over a sorted set. */
export interface ScanStep {
  /** "0" when the walk is over. */
  cursor: string;
  ids: string[];
}

/**
 * Redis access for reconciliation and for cancelling a job Redis lost: finding which jobs
 * Redis lacks, restoring them, walking the queue sets in bounded steps and dropping jobs.
 * Every call is O(batch), never O(queue); connection failures surface as `unavailable`
 * ConnectErrors, script errors (a job Redis refuses) as they are.
 */
export class RecoveryStore {
  private readonly scripts: Scripts;
  private readonly types: KnownTypes;

  /** `opts.types`: the job types known per queue, shared with the QueueStore (see KnownTypes). */
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    opts: ScriptOptions & { types?: KnownTypes } = {},
  ) {
    this.scripts = defineScripts(redis, opts);
    this.types = opts.types ?? new KnownTypes();
  }

  keys(queue: string): QueueKeys {
    return queueKeys(this.keyPrefix, queue);
  }

  /** Redis's clock, ms since the Unix epoch: the clock every script uses. */
  async now(): Promise<number> {
    const [s, us] = await callRedis(() => this.redis.time());
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }

  /**
   * The ids among `jobs` Redis does not hold: no hash, or a stale tombstone (a finished job's hash
   * whose seq is below `seq`, history's newest: the job was retried since; see restore-jobs.lua).
   * One pipeline.
   */
  async missing(queue: string, jobs: readonly { id: string; seq: number }[]): Promise<string[]> {
    if (jobs.length === 0) return [];
    const k = this.keys(queue);
    // One queue's keys share a slot, so the pipeline goes to one node of a cluster.
    const replies = await callRedis(() => {
      const pipeline = this.redis.pipeline();
      for (const j of jobs) pipeline.hmget(k.job(j.id), "state", "seq");
      return pipeline.exec();
    });
    return jobs
      .filter((j, i) => {
        const [err, fields] = replies?.[i] ?? [new Error("no reply")];
        if (err) throw fromRedisError(err);
        const [state, seq] = fields as (string | null)[];
        return state === null || (state === "done" && Number(seq) < j.seq);
      })
      .map((j) => j.id);
  }

  /**
   * Notes that a retry of `jobs` begins (before history reopens them), at Redis's time. One
   * deployment-wide zset: written by a command of its own, never inside a queue's script.
   */
  async noteRetries(jobs: readonly JobRef[]): Promise<void> {
    if (jobs.length === 0) return;
    const at = await this.now();
    await callRedis(() => this.redis.zadd(retryIntentsKey(this.keyPrefix), ...jobs.flatMap((j) => [at, `${j.queue}/${j.id}`])));
  }

  /** Up to `count` retries noted before `beforeMs` (Redis's clock), oldest first. */
  async retriesBefore(beforeMs: number, count: number): Promise<JobRef[]> {
    const members = await callRedis(() => this.redis.zrangebyscore(retryIntentsKey(this.keyPrefix), "-inf", `(${beforeMs}`, "LIMIT", 0, count));
    return members.map((m) => ({ queue: m.slice(0, m.lastIndexOf("/")), id: m.slice(m.lastIndexOf("/") + 1) }));
  }

  /**
   * The ids among `jobs` whose hash is a finished job's tombstone that has no expiry yet: the
   * forwarder has not acknowledged the end (it sets the expiry in the same MULTI as the ack), so
   * it may still set one, which would land on the hash a retry puts in its place. One pipeline
   * per queue (a queue's keys share a slot).
   */
  async endsNotAcknowledged(jobs: readonly JobRef[]): Promise<string[]> {
    const byQueue = new Map<string, string[]>();
    for (const j of jobs) byQueue.set(j.queue, [...(byQueue.get(j.queue) ?? []), j.id]);
    const found = await Promise.all(
      [...byQueue].map(async ([queue, ids]) => {
        const k = this.keys(queue);
        const replies = await callRedis(() => {
          const pipeline = this.redis.pipeline();
          for (const id of ids) pipeline.hget(k.job(id), "state").pttl(k.job(id));
          return pipeline.exec();
        });
        return ids.filter((_, i) => {
          const [[stateErr, state], [ttlErr, ttl]] = [replies?.[2 * i] ?? [null, null], replies?.[2 * i + 1] ?? [null, null]];
          if (stateErr ?? ttlErr) throw fromRedisError(stateErr ?? ttlErr);
          return state === "done" && ttl === -1;
        });
      }),
    );
    return found.flat();
  }

  /** Forgets noted retries: Redis holds their jobs again, or history did not reopen them. */
  async forgetRetries(jobs: readonly JobRef[]): Promise<void> {
    if (jobs.length === 0) return;
    await callRedis(() => this.redis.zrem(retryIntentsKey(this.keyPrefix), ...jobs.map((j) => `${j.queue}/${j.id}`)));
  }

  /** Puts back jobs Redis lacks or holds as stale tombstones (see restore-jobs.lua); one outcome per job, in order. */
  async restore(queue: string, jobs: readonly RestoreJob[]): Promise<RestoreOutcome[]> {
    if (jobs.length === 0) return [];
    const k = this.keys(queue);
    const args = jobs.flatMap((j) => [
      j.id, j.type, j.payloadJson, j.priority, j.maxAttempts, j.attempts, j.timeoutMs, j.seq,
      j.scheduledMs, j.createdMs, j.processing ? "1" : "0", j.workerId, j.parentsJson ?? "",
    ]);
    const reply = (await this.runDeclaring("restore-jobs", queue, {
      fixed: [k.types, k.delayed, k.leased, k.outbox, k.running],
      jobKeys: jobs.map((j) => k.job(j.id)),
      args: [queue, ...args],
      types: new Set(jobs.map((j) => j.type)),
      declareKnown: false,
    })) as number[];
    return reply.map((code) => code as RestoreOutcome);
  }

  /**
   * Removes jobs from the queue's sets and deletes their hashes; `seenType` is the type whose
   * ready set a job was found in ("" for none). Resolves to how many Redis held.
   */
  async drop(queue: string, jobs: readonly { id: string; seenType: string }[]): Promise<number> {
    if (jobs.length === 0) return 0;
    const k = this.keys(queue);
    return Number(await this.runDeclaring("drop-jobs", queue, {
      fixed: [k.types, k.delayed, k.leased, k.running],
      jobKeys: jobs.map((j) => k.job(j.id)),
      args: jobs.flatMap((j) => [j.id, j.seenType]),
      types: new Set(jobs.map((j) => j.seenType).filter((t) => t !== "")),
    }));
  }

  /** The job types of `queue` that have ready jobs. */
  async readyTypes(queue: string): Promise<string[]> {
    return callRedis(() => this.redis.smembers(this.keys(queue).types));
  }

  /** One ZSCAN step over `zset` from `cursor`; about `count` members per step. */
  async scan(zset: string, cursor: string, count: number): Promise<ScanStep> {
    const [next, flat] = await callRedis(() => this.redis.zscan(zset, cursor, "COUNT", count));
    return { cursor: next, ids: flat.filter((_, i) => i % 2 === 0) };
  }

  /**
   * Cancels a job Redis does not hold: writes a cancelled tombstone and its CANCELLED event
   * (seq `lastSeq + 1`) in one step (see bury-job.lua).
   * @returns the time of the event, ms since the Unix epoch; undefined when Redis holds the job
   *   after all (nothing changed).
   */
  async bury(job: BuryJob, by: CancelRequest, end: BuryEnd = CANCEL_REQUESTED): Promise<number | undefined> {
    const k = this.keys(job.queue);
    const details = end.details === undefined ? cancelDetails(by) : JSON.stringify(end.details);
    const [buried, atMs] = (await this.run(
      "bury-job",
      [k.job(job.id), k.outbox],
      [job.id, job.queue, job.type, job.lastSeq, job.attempts, by.actor, details, end.status, end.reason, end.error ?? ""],
    )) as [number, number];
    return buried === 1 ? Number(atMs) : undefined;
  }

  private run(name: ScriptName, keys: string[], args: (string | number)[]): Promise<unknown> {
    return callRedis(() => this.scripts[name](keys, args));
  }

  private runDeclaring(name: ScriptName, queue: string, call: DeclaringCall): Promise<unknown> {
    return runDeclaring(this.scripts[name], this.types, this.keys(queue), call);
  }
}
