import { callRedis, isScriptCode, ScriptCode, scriptCodeError } from "../errors.js";
import { KnownTypes, runDeclaring, type DeclaringCall } from "./declared-types.js";
import {
  type CancelRequest,
  type EnqueueJob,
  type ExtendResult,
  type LeaseAsk,
  type LeasedRecord,
  type LeaseRef,
  type ReportInput,
  type ReportOutcome,
  type TypeCounts,
  typeCountsOf,
} from "./job-records.js";
import { legacyReadyKey, limitsIn, limitsPrefix, queueKeys, queuesKey, type QueueKeys, type QueueLimits } from "./keys.js";
import { timeReplyMs } from "./redis-clock.js";
import { leaseReady } from "./lease-ready.js";
import type { RedisClient } from "./redis-client.js";
import { defineScripts, type ScriptName, type Scripts } from "./scripts.js";
import { jobStatusOf } from "./status-text.js";

export type * from "./job-records.js";

/** A lease may outlive its attempt deadline by this much, so a report sent right at the deadline still counts. */
export const DEADLINE_GRACE_MS = 5_000;

export type { QueueLimits } from "./keys.js";

/** The limits of one job type within a queue, and how many of its jobs are leased now. */
export interface TypeLimits {
  type: string;
  limits: QueueLimits;
  running: number;
}

/** A queue's pause (when, ms since the epoch, and by whom), its limits and its job types' limits (by type). */
export interface QueueControls {
  pause: { atMs: number; actor: string } | undefined;
  limits: QueueLimits;
  typeLimits: TypeLimits[];
}



export interface QueueStoreOptions {
  /** One Redis or a Redis Cluster. */
  redis: RedisClient;
  keyPrefix: string;
  leaseMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Jitter source in [0, 1), replaceable in tests. */
  random?: () => number;
  /** Testing only: scripts fail when they touch a key they did not declare (see ScriptOptions). */
  checkScriptKeys?: boolean;
}

const ENQUEUE_CHUNK = 500;
const LEGACY_MOVE_BATCH = 1_000;
/** Queue name of health checks; "_" is outside the queue alphabet, so no job uses it. */
const HEALTH_QUEUE = "_health";

/**
 * Typed access to one deployment's queues in Redis. Every change is one atomic script call
 * per queue and batch, declaring every key it touches (so it runs on Redis Cluster); where
 * the script picks the jobs (leases, promotions, expiries) a cheap read of the candidates
 * comes first. Redis connection failures surface as `unavailable` ConnectErrors.
 */
export class QueueStore {
  readonly redis: RedisClient;
  readonly keyPrefix: string;
  /** The job types seen per queue, whose ready sets the scripts declare (see KnownTypes). */
  readonly types = new KnownTypes();
  private readonly scripts: Scripts;
  private readonly opts: QueueStoreOptions;

  constructor(opts: QueueStoreOptions) {
    this.opts = opts;
    this.redis = opts.redis;
    this.keyPrefix = opts.keyPrefix;
    this.scripts = defineScripts(opts.redis, { checkKeys: opts.checkScriptKeys });
  }

  keys(queue: string): QueueKeys {
    return queueKeys(this.keyPrefix, queue);
  }

  /**
   * Creates the jobs of one queue (ready or delayed); resolves to how many were new, and how many
   * of each type are ready. `traceParent` (the submit's W3C traceparent) is kept with each new
   * job, so its lease, attempt and events join the submit's trace; "" keeps nothing.
   */
  async enqueue(queue: string, jobs: readonly EnqueueJob[], traceParent = ""): Promise<{ created: number; ready: TypeCounts }> {
    const k = this.keys(queue);
    let created = 0;
    const ready = new Map<string, number>();
    // Chunks keep one script call (which blocks Redis) short for huge batches.
    for (let i = 0; i < jobs.length; i += ENQUEUE_CHUNK) {
      const chunk = jobs.slice(i, i + ENQUEUE_CHUNK);
      const args = chunk.flatMap((j) => [
        j.id, j.type, j.payloadJson, j.priority, j.maxAttempts, j.timeoutMs, j.delayMs, j.runAtMs, j.createdMs,
      ]);
      const [n, counts] = (await this.runDeclaring("enqueue-jobs", queue, {
        fixed: [k.types, k.delayed, k.meta],
        jobKeys: chunk.map((j) => k.job(j.id)),
        args: [queue, traceParent, ...args],
        types: new Set(chunk.map((j) => j.type)),
        declareKnown: false,
      })) as [number, unknown];
      created += Number(n);
      for (const [type, c] of typeCountsOf(counts)) ready.set(type, (ready.get(type) ?? 0) + c);
    }
    return { created, ready };
  }

  /** Leases ready jobs of `queue` to `workerId`, best first (see lease-ready.ts and lease-jobs.lua). */
  async lease(queue: string, workerId: string, ask: LeaseAsk): Promise<LeasedRecord[]> {
    const run = this.scripts["lease-jobs"];
    const c = { redis: this.redis, run, types: this.types, leaseMs: this.opts.leaseMs, graceMs: DEADLINE_GRACE_MS };
    const { records, heldMs } = await leaseReady(c, this.keys(queue), workerId, ask);
    if (heldMs !== 0) ask.onHeld?.(heldMs);
    return records;
  }

  /** Extends leases on jobs of `queue`; one result per lease, in order. */
  async extend(queue: string, leases: readonly LeaseRef[]): Promise<ExtendResult[]> {
    if (leases.length === 0) return [];
    const k = this.keys(queue);
    const reply = (await this.run(
      "extend-leases",
      [k.leased, ...leases.map((l) => k.job(l.id))],
      [this.opts.leaseMs, DEADLINE_GRACE_MS, ...leases.flatMap((l) => [l.id, l.token])],
    )) as [number, number, number, number][];
    return reply.map(([status, until, attempt, now]) => ({ status, leaseUntilMs: Number(until), attempt: Number(attempt), nowMs: Number(now) }));
  }

  /** Records reports on jobs of `queue` by `actor` (default `worker:<workerId>`); one outcome per report, in order. */
  async report(queue: string, workerId: string, reports: readonly ReportInput[], actor = `worker:${workerId}`): Promise<ReportOutcome[]> {
    if (reports.length === 0) return [];
    const k = this.keys(queue);
    const random = this.opts.random ?? Math.random;
    const args = reports.flatMap((r) => [
      r.id, r.token, r.outcome, r.body, r.permanent ? "1" : "0", String(random()),
    ]);
    const reply = (await this.runDeclaring("report-jobs", queue, {
      fixed: [k.leased, k.delayed, k.outbox, k.types, k.completedIn(Math.floor(Date.now() / 60_000)), k.running],
      jobKeys: reports.map((r) => k.job(r.id)),
      args: [workerId, actor, this.opts.retryBaseMs, this.opts.retryMaxMs, ...args],
    })) as [number, string][];
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
    opts: { reason?: "worker_released" | "lease_not_delivered"; attemptsRan?: boolean; actor?: string } = {},
  ): Promise<{ released: number; ready: TypeCounts }> {
    if (leases.length === 0) return { released: 0, ready: new Map() };
    const k = this.keys(queue);
    const reason = opts.reason ?? "worker_released";
    const actor = reason === "lease_not_delivered" ? "scheduler:lease-jobs" : (opts.actor ?? "");
    const [released, counts] = (await this.runDeclaring("release-jobs", queue, {
      fixed: [k.types, k.leased, k.outbox, k.running],
      jobKeys: leases.map((l) => k.job(l.id)),
      args: [workerId, reason, actor, opts.attemptsRan ? "1" : "0", ...leases.flatMap((l) => [l.id, l.token])],
    })) as [number, unknown];
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
    const reply = await this.runDeclaring("cancel-job", queue, {
      fixed: [k.types, k.delayed, k.outbox, k.job(id)],
      jobKeys: [],
      args: [id, cancelDetails(by), by.actor],
    });
    if (reply === ScriptCode.JobMissing) return "missing";
    if (isScriptCode(reply)) throw scriptCodeError(reply, id);
    return reply === 1 ? "cancelled" : "requested";
  }

  /**
   * Moves up to `limit` due delayed jobs of `queue` to ready: reads the due ids, then promotes
   * those still due in one script call. `moved` counts the due ids read, so `moved === limit`
   * means more may be due; `ready` counts the jobs that became ready, per type.
   */
  async promoteDelayed(queue: string, limit: number): Promise<{ moved: number; ready: TypeCounts }> {
    const k = this.keys(queue);
    const ids = await this.findDue(k.delayed, limit);
    if (ids.length === 0) return { moved: 0, ready: new Map() };
    const [, counts] = (await this.runDeclaring("promote-delayed", queue, {
      fixed: [k.delayed, k.types],
      jobKeys: ids.map((id) => k.job(id)),
      args: ids,
    })) as [number, unknown];
    return { moved: ids.length, ready: typeCountsOf(counts) };
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

  /** Recovers up to `limit` expired leases of `queue`: reads the expired ids, then recovers those still expired in one script call. */
  async expireLeases(queue: string, limit: number): Promise<{ requeued: number; ended: number; ready: TypeCounts }> {
    const k = this.keys(queue);
    const ids = await this.findDue(k.leased, limit);
    if (ids.length === 0) return { requeued: 0, ended: 0, ready: new Map() };
    const [requeued, ended, counts] = (await this.runDeclaring("expire-leases", queue, {
      fixed: [k.leased, k.types, k.outbox, k.running],
      jobKeys: ids.map((id) => k.job(id)),
      args: ids,
    })) as [number, number, unknown];
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

  /**
   * Pauses `queue` for `actor`: the lease script then leases none of its jobs (see
   * lease-jobs.lua), and the queue stays swept and listed while paused. A second pause keeps
   * the first one's time and actor.
   */
  async pause(queue: string, actor: string): Promise<void> {
    const k = this.keys(queue);
    await this.addQueues([queue]);
    await callRedis(async () => {
      const nowMs = Math.round(timeReplyMs(await this.redis.time()));
      await this.redis.hsetnx(k.meta, "paused", `${nowMs} ${actor}`);
    });
  }

  /** Lets workers lease `queue`'s jobs again; resolves to its ready jobs per type (to wake waiters with), none when it was not paused. */
  async resume(queue: string): Promise<TypeCounts> {
    const k = this.keys(queue);
    return callRedis(async () => {
      if ((await this.redis.hdel(k.meta, "paused")) === 0) return new Map();
      return this.readyCounts(k);
    });
  }

  /** The ready jobs of a queue per type, to wake waiters with. */
  private async readyCounts(k: QueueKeys): Promise<TypeCounts> {
    const types = await this.redis.smembers(k.types);
    const counts = await Promise.all(types.map((t) => this.redis.zcard(k.ready(t))));
    return new Map(types.map((t, i) => [t, counts[i]!]));
  }

  /** Each of `queues`' pause (when and by whom) and limits, as its meta hash holds them. */
  async controls(queues: readonly string[]): Promise<QueueControls[]> {
    const rows = await callRedis(() =>
      Promise.all(queues.map((q) => Promise.all([this.redis.hgetall(this.keys(q).meta), this.redis.hgetall(this.keys(q).running)]))),
    );
    return rows.map(([meta, running]) => {
      const paused = meta.paused;
      const space = paused?.indexOf(" ") ?? -1;
      const typed = new Set<string>();
      for (const field of Object.keys(meta)) {
        const m = /^type:(.+):(max_running|max_starts)$/.exec(field);
        if (m) typed.add(m[1]!);
      }
      return {
        pause: paused === undefined ? undefined : { atMs: Number(paused.slice(0, space)), actor: paused.slice(space + 1) },
        limits: limitsIn(meta, ""),
        typeLimits: [...typed].sort().map((type) => ({ type, limits: limitsIn(meta, type), running: Number(running[type] ?? 0) })),
      };
    });
  }

  /**
   * Sets the limits (zero: none) of `queue`, or of its jobs of one `type` ("": the queue's own),
   * which the lease script enforces from the next lease on; resolves to the queue's ready jobs
   * per type, to wake the waiters that limits may have held back.
   */
  async setLimits(queue: string, limits: QueueLimits, type = ""): Promise<TypeCounts> {
    const k = this.keys(queue);
    const p = limitsPrefix(type);
    await this.addQueues([queue]);
    return callRedis(async () => {
      const tx = this.redis.multi();
      if (limits.maxRunning > 0) tx.hset(k.meta, `${p}max_running`, limits.maxRunning);
      else tx.hdel(k.meta, `${p}max_running`);
      if (limits.maxStarts > 0) tx.hset(k.meta, `${p}max_starts`, limits.maxStarts, `${p}per_ms`, limits.perMs);
      // The rate limiter's state goes with its limit: a new rate starts with a full burst.
      tx.hdel(k.meta, ...(limits.maxStarts > 0 ? [`${p}tat`] : [`${p}max_starts`, `${p}per_ms`, `${p}tat`]));
      await tx.exec();
      return this.readyCounts(k);
    });
  }

  /**
   * Puts back a pause and limits of `queue` that Redis lost (from the operators' trail), each
   * field only where Redis has none: a control set since the loss is kept.
   */
  async restoreControls(queue: string, pause: QueueControls["pause"], limits: readonly { type: string; limits: QueueLimits }[]): Promise<void> {
    const k = this.keys(queue);
    await this.addQueues([queue]);
    await callRedis(async () => {
      const tx = this.redis.multi();
      if (pause !== undefined) tx.hsetnx(k.meta, "paused", `${pause.atMs} ${pause.actor}`);
      for (const { type, limits: l } of limits) {
        const p = limitsPrefix(type);
        if (l.maxRunning > 0) tx.hsetnx(k.meta, `${p}max_running`, l.maxRunning);
        if (l.maxStarts > 0) tx.hsetnx(k.meta, `${p}max_starts`, l.maxStarts).hsetnx(k.meta, `${p}per_ms`, l.perMs);
      }
      await tx.exec();
    });
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
    // The set of queues is a key of its own (another slot on a cluster): a call of its own.
    await callRedis(() => this.redis.srem(queuesKey(this.keyPrefix), queue));
    const stillIdle = Number(await this.run("forget-queue", keys, [idleBeforeMs])) === 1;
    if (!stillIdle) await this.addQueues([queue]);
    else this.types.forget(queue);
    return stillIdle;
  }

  /** Moves a queue's ready jobs out of the single ready set of earlier versions; resolves to how many moved. */
  async migrateLegacyReady(queue: string): Promise<number> {
    const k = this.keys(queue);
    const legacy = legacyReadyKey(this.keyPrefix, queue);
    let total = 0;
    for (;;) {
      const ids = await callRedis(() => this.redis.zrange(legacy, 0, String(LEGACY_MOVE_BATCH - 1)));
      if (ids.length === 0) return total;
      total += Number(await this.runDeclaring("migrate-legacy-ready", queue, {
        fixed: [legacy, k.types],
        jobKeys: ids.map((id) => k.job(id)),
        args: ids,
      }));
      if (ids.length < LEGACY_MOVE_BATCH) return total;
    }
  }

  /** Up to `limit` ids of a time-scored zset whose time has come by Redis's clock, earliest first. */
  private async findDue(zset: string, limit: number): Promise<string[]> {
    return (await this.run("find-due", [zset], [limit])) as string[];
  }

  private runDeclaring(name: ScriptName, queue: string, call: DeclaringCall): Promise<unknown> {
    return runDeclaring(this.scripts[name], this.types, this.keys(queue), call);
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
