import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { callRedis, isScriptCode, ScriptCode, scriptCodeError } from "../errors.js";
import {
  type CancelRequest,
  type EnqueueJob,
  type ExtendResult,
  type LeaseAsk,
  type LeasedRecord,
  type LeaseRef,
  type ReportInput,
  type ReportOutcome,
  toLeasedRecord,
  type TypeCounts,
  typeCountsOf,
} from "./job-records.js";
import { legacyReadyKey, queueKeys, queuesKey, type QueueKeys } from "./keys.js";
import { timeReplyMs } from "./redis-clock.js";
import { defineScripts, type ScriptName, type Scripts } from "./scripts.js";
import { jobStatusOf } from "./status-text.js";

export type * from "./job-records.js";

/** A lease may outlive its attempt deadline by this much, so a report sent right at the deadline still counts. */
export const DEADLINE_GRACE_MS = 5_000;

export interface QueueStoreOptions {
  redis: Redis;
  keyPrefix: string;
  leaseMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Jitter source in [0, 1), replaceable in tests. */
  random?: () => number;
}

const ENQUEUE_CHUNK = 500;
const LEGACY_MOVE_BATCH = 1_000;
/** Queue name of health checks; "_" is outside the queue alphabet, so no job uses it. */
const HEALTH_QUEUE = "_health";

/**
 * Typed access to one deployment's queues in Redis. Every method is one
 * atomic script call per queue; Redis connection failures surface as
 * `unavailable` ConnectErrors.
 */
export class QueueStore {
  readonly redis: Redis;
  readonly keyPrefix: string;
  private readonly scripts: Scripts;
  private readonly opts: QueueStoreOptions;

  constructor(opts: QueueStoreOptions) {
    this.opts = opts;
    this.redis = opts.redis;
    this.keyPrefix = opts.keyPrefix;
    this.scripts = defineScripts(opts.redis);
  }

  keys(queue: string): QueueKeys {
    return queueKeys(this.keyPrefix, queue);
  }

  /** Creates the jobs of one queue (ready or delayed); resolves to how many were new, and how many of each type are ready. */
  async enqueue(queue: string, jobs: readonly EnqueueJob[]): Promise<{ created: number; ready: TypeCounts }> {
    const k = this.keys(queue);
    let created = 0;
    const ready = new Map<string, number>();
    // Chunks keep one script call (which blocks Redis) short for huge batches.
    for (let i = 0; i < jobs.length; i += ENQUEUE_CHUNK) {
      const args = jobs.slice(i, i + ENQUEUE_CHUNK).flatMap((j) => [
        j.id, j.type, j.payloadJson, j.priority, j.maxAttempts, j.timeoutMs, j.delayMs, j.runAtMs, j.createdMs,
      ]);
      const [n, counts] = (await this.run("enqueue-jobs", [k.readyPrefix, k.types, k.delayed, k.jobPrefix, k.meta], [queue, ...args])) as [number, unknown];
      created += Number(n);
      for (const [type, c] of typeCountsOf(counts)) ready.set(type, (ready.get(type) ?? 0) + c);
    }
    return { created, ready };
  }

  /** Leases ready jobs of `queue` to `workerId`, best first (see lease-jobs.lua). */
  async lease(queue: string, workerId: string, ask: LeaseAsk): Promise<LeasedRecord[]> {
    const k = this.keys(queue);
    const nonce = randomBytes(12).toString("base64url");
    const requestKey = k.leaseRequest(workerId, ask.requestId === "" ? nonce : ask.requestId);
    const reply = (await this.run(
      "lease-jobs",
      [k.readyPrefix, k.types, k.leased, k.outbox, k.jobPrefix, requestKey],
      [ask.max, workerId, this.opts.leaseMs, DEADLINE_GRACE_MS, nonce, ask.maxBytes, ...ask.types],
    )) as unknown[][];
    return reply.map((row) => toLeasedRecord(queue, row));
  }

  /** Extends leases on jobs of `queue`; one result per lease, in order. */
  async extend(queue: string, leases: readonly LeaseRef[]): Promise<ExtendResult[]> {
    if (leases.length === 0) return [];
    const k = this.keys(queue);
    const reply = (await this.run(
      "extend-leases",
      [k.leased, k.jobPrefix],
      [this.opts.leaseMs, DEADLINE_GRACE_MS, ...leases.flatMap((l) => [l.id, l.token])],
    )) as [number, number][];
    return reply.map(([status, until]) => ({ status, leaseUntilMs: Number(until) }));
  }

  /** Records reports on jobs of `queue`; one outcome per report, in order. */
  async report(queue: string, workerId: string, reports: readonly ReportInput[]): Promise<ReportOutcome[]> {
    if (reports.length === 0) return [];
    const k = this.keys(queue);
    const random = this.opts.random ?? Math.random;
    const args = reports.flatMap((r) => [
      r.id, r.token, r.outcome, r.body, r.permanent ? "1" : "0", String(random()),
    ]);
    const reply = (await this.run(
      "report-jobs",
      [k.leased, k.delayed, k.outbox, k.jobPrefix, k.readyPrefix, k.types],
      [workerId, this.opts.retryBaseMs, this.opts.retryMaxMs, ...args],
    )) as [number, string][];
    return reply.map(([status, jobStatus]) => ({ status, jobStatus: jobStatusOf(jobStatus) }));
  }

  /**
   * Hands leases on jobs of `queue` back, ready again at once; resolves to how many were handed
   * back, and how many of each type are ready again. Unrun jobs get their attempt back (`reason`
   * "lease_not_delivered" records that the scheduler did it for a caller that went away); with
   * `attemptsRan` (the handlers ran and were stopped) the attempt counts, and a job on its last
   * attempt fails (attempts_exhausted).
   */
  async release(
    queue: string,
    workerId: string,
    leases: readonly LeaseRef[],
    opts: { reason?: "worker_released" | "lease_not_delivered"; attemptsRan?: boolean } = {},
  ): Promise<{ released: number; ready: TypeCounts }> {
    if (leases.length === 0) return { released: 0, ready: new Map() };
    const k = this.keys(queue);
    const reason = opts.reason ?? "worker_released";
    const actor = reason === "lease_not_delivered" ? "scheduler:lease-jobs" : "";
    const [released, counts] = (await this.run(
      "release-jobs",
      [k.readyPrefix, k.types, k.leased, k.outbox, k.jobPrefix],
      [workerId, reason, actor, opts.attemptsRan ? "1" : "0", ...leases.flatMap((l) => [l.id, l.token])],
    )) as [number, unknown];
    return { released: Number(released), ready: typeCountsOf(counts) };
  }

  /**
   * Cancels a job: "cancelled" when it stopped at once, "requested" when its worker must stop
   * it (the request's actor and reason then go into the details of the CANCELLED event that
   * ends the attempt), "missing" when Redis does not hold the job (nothing changed).
   * @throws failed_precondition when it already finished.
   */
  async cancel(queue: string, id: string, by: CancelRequest): Promise<"cancelled" | "requested" | "missing"> {
    const k = this.keys(queue);
    const reply = await this.run(
      "cancel-job",
      [k.readyPrefix, k.types, k.delayed, k.outbox, k.jobPrefix + id],
      [id, cancelDetails(by), by.actor],
    );
    if (reply === ScriptCode.JobMissing) return "missing";
    if (isScriptCode(reply)) throw scriptCodeError(reply, id);
    return reply === 1 ? "cancelled" : "requested";
  }

  /** Moves up to `limit` due delayed jobs of `queue` to ready; resolves to how many were handled and became ready per type. */
  async promoteDelayed(queue: string, limit: number): Promise<{ moved: number; ready: TypeCounts }> {
    const k = this.keys(queue);
    const [moved, counts] = (await this.run("promote-delayed", [k.delayed, k.readyPrefix, k.types, k.jobPrefix], [limit])) as [number, unknown];
    return { moved: Number(moved), ready: typeCountsOf(counts) };
  }

  /**
   * The earliest due time in each queue's delayed set (ms since the Unix epoch, undefined when
   * the set is empty), in the order of `queues`, and Redis's time read just before them
   * (`redisMs`, with its fraction) with the local monotonic time its answer arrived
   * (`receivedMs`, `performance.now()`). The reads go out together, TIME first; no script, so
   * they need not share a slot.
   */
  async delayedHeads(queues: readonly string[]): Promise<{ redisMs: number; receivedMs: number; heads: (number | undefined)[] }> {
    return callRedis(async () => {
      let receivedMs = 0;
      const time = this.redis.time().then((reply) => {
        receivedMs = performance.now();
        return timeReplyMs(reply);
      });
      const reads = queues.map((q) => this.redis.zrange(this.keys(q).delayed, 0, "0", "WITHSCORES"));
      const [redisMs, ...replies] = await Promise.all([time, ...reads]);
      return { redisMs, receivedMs, heads: replies.map(firstScore) };
    });
  }

  /** Recovers up to `limit` expired leases of `queue`. */
  async expireLeases(queue: string, limit: number): Promise<{ requeued: number; ended: number; ready: TypeCounts }> {
    const k = this.keys(queue);
    const [requeued, ended, counts] = (await this.run(
      "expire-leases",
      [k.leased, k.readyPrefix, k.types, k.outbox, k.jobPrefix],
      [limit],
    )) as [number, number, unknown];
    return { requeued: Number(requeued), ended: Number(ended), ready: typeCountsOf(counts) };
  }

  /**
   * Proves Redis runs scripts: a promote on a queue no job can use (its name
   * is outside the queue alphabet), which reads nothing and writes nothing.
   */
  async ping(): Promise<void> {
    await this.promoteDelayed(HEALTH_QUEUE, 1);
  }

  /** Records queues in the set the loops sweep. */
  async addQueues(queues: readonly string[]): Promise<void> {
    if (queues.length === 0) return;
    await callRedis(() => this.redis.sadd(queuesKey(this.keyPrefix), ...queues));
  }

  /** The queues the loops sweep: those holding jobs, or that received one lately. */
  async knownQueues(): Promise<string[]> {
    return callRedis(() => this.redis.smembers(queuesKey(this.keyPrefix)));
  }

  /**
   * Takes `queue` off the swept set when it is idle (see forget-queue.lua) and last touched
   * before `idleBeforeMs`. A job enqueued meanwhile puts it back: enqueues add their queue to
   * the set after their script, and a second look after the removal adds it back when the
   * queue was touched since the first.
   * @returns whether the queue was forgotten.
   */
  async forgetIfIdle(queue: string, idleBeforeMs: number): Promise<boolean> {
    const k = this.keys(queue);
    const keys = [k.types, k.delayed, k.leased, k.outbox, k.outboxDead, k.meta];
    if (Number(await this.run("forget-queue", keys, [idleBeforeMs])) !== 1) return false;
    await callRedis(() => this.redis.srem(queuesKey(this.keyPrefix), queue));
    const stillIdle = Number(await this.run("forget-queue", keys, [idleBeforeMs])) === 1;
    if (!stillIdle) await this.addQueues([queue]);
    return stillIdle;
  }

  /** Moves a queue's ready jobs out of the single ready set of earlier versions; resolves to how many moved. */
  async migrateLegacyReady(queue: string): Promise<number> {
    const k = this.keys(queue);
    const keys = [legacyReadyKey(this.keyPrefix, queue), k.readyPrefix, k.types, k.jobPrefix];
    let total = 0;
    for (;;) {
      const moved = Number(await this.run("migrate-legacy-ready", keys, [LEGACY_MOVE_BATCH]));
      total += moved;
      if (moved < LEGACY_MOVE_BATCH) return total;
    }
  }

  private run(name: ScriptName, keys: string[], args: (string | number)[]): Promise<unknown> {
    return callRedis(() => this.scripts[name](keys, args));
  }
}

/** The score of a one-member ZRANGE WITHSCORES reply, flat (RESP2) or in pairs (RESP3); undefined when empty. */
function firstScore(reply: unknown): number | undefined {
  if (!Array.isArray(reply) || reply.length === 0) return undefined;
  const score: unknown = Array.isArray(reply[0]) ? (reply[0] as unknown[])[1] : reply[1];
  return score === undefined ? undefined : Number(score);
}

/** The details a cancel records: the caller's reason, when given. */
export const cancelDetails = (by: CancelRequest): string => (by.reason === "" ? "" : JSON.stringify({ reason: by.reason }));
