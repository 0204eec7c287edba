import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { JobStatus, LeaseStatus, ReportStatus } from "@taskflow/proto";
import { callRedis, isScriptCode, ScriptCode, scriptCodeError } from "../errors.js";
import { queueKeys, queuesKey, type QueueKeys } from "./keys.js";
import { defineScripts, type ScriptName, type Scripts } from "./scripts.js";
import { jobStatusOf } from "./status-text.js";

/** A lease may outlive its attempt deadline by this much, so a report sent right at the deadline still counts. */
export const DEADLINE_GRACE_MS = 5_000;
/** How long a finished job's hash stays as a tombstone answering retried reports and cancels, in s. */
export const TOMBSTONE_TTL_S = 3_600;

/** A validated job to enqueue. `runAtMs` > 0 wins over `delayMs`. */
export interface EnqueueJob {
  id: string;
  type: string;
  payloadJson: string;
  priority: number;
  maxAttempts: number;
  timeoutMs: number;
  delayMs: number;
  runAtMs: number;
  createdMs: number;
}

/** A job just leased, as the lease script returns it. Times are ms since the Unix epoch. */
export interface LeasedRecord {
  id: string;
  type: string;
  queue: string;
  payloadJson: string;
  priority: number;
  maxAttempts: number;
  attempts: number;
  timeoutMs: number;
  scheduledMs: number;
  createdMs: number;
  token: string;
  leaseUntilMs: number;
  deadlineMs: number;
  startedMs: number;
}

/** One lease a worker names: the job and its fencing token. */
export interface LeaseRef {
  id: string;
  token: string;
}

export interface ExtendResult {
  status: LeaseStatus;
  /** New lease deadline, ms since the Unix epoch; 0 when the lease is lost. */
  leaseUntilMs: number;
}

/** A worker's report; `body` is the result as JSON text, or the error text. */
export interface ReportInput extends LeaseRef {
  outcome: "completed" | "failed";
  body: string;
  permanent: boolean;
}

/** Who asks for a cancel and why, as the audit trail records it. */
export interface CancelRequest {
  /** The caller's free-text reason, kept in the event's details; "" for none. */
  reason: string;
  /** "api" or "api:<caller>". */
  actor: string;
}

export interface ReportOutcome {
  status: ReportStatus;
  /** The job's status after the report; UNSPECIFIED when Redis no longer knows it. */
  jobStatus: JobStatus;
}

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

  /** Creates the jobs of one queue (ready or delayed); resolves to how many were new. */
  async enqueue(queue: string, jobs: readonly EnqueueJob[]): Promise<number> {
    const k = this.keys(queue);
    let created = 0;
    // Chunks keep one script call (which blocks Redis) short for huge batches.
    for (let i = 0; i < jobs.length; i += ENQUEUE_CHUNK) {
      const args = jobs.slice(i, i + ENQUEUE_CHUNK).flatMap((j) => [
        j.id, j.type, j.payloadJson, j.priority, j.maxAttempts, j.timeoutMs, j.delayMs, j.runAtMs, j.createdMs,
      ]);
      created += Number(await this.run("enqueue-jobs", [k.ready, k.delayed, k.jobPrefix], [queue, ...args]));
    }
    return created;
  }

  /** Leases up to `max` ready jobs of `queue` to `workerId`, best first. */
  async lease(queue: string, workerId: string, max: number): Promise<LeasedRecord[]> {
    const k = this.keys(queue);
    const nonce = randomBytes(12).toString("base64url");
    const reply = (await this.run(
      "lease-jobs",
      [k.ready, k.leased, k.outbox, k.jobPrefix],
      [max, workerId, this.opts.leaseMs, DEADLINE_GRACE_MS, nonce],
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
    )) as [LeaseStatus, number][];
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
      [k.leased, k.delayed, k.outbox, k.jobPrefix],
      [workerId, this.opts.retryBaseMs, this.opts.retryMaxMs, TOMBSTONE_TTL_S, ...args],
    )) as [ReportStatus, string][];
    return reply.map(([status, jobStatus]) => ({ status, jobStatus: jobStatusOf(jobStatus) }));
  }

  /**
   * Hands leases on jobs of `queue` back, ready again at once; resolves to how many were handed
   * back. Unrun jobs get their attempt back; with `attemptsRan` (the handlers ran and were
   * stopped) the attempt counts, and a job on its last attempt fails (attempts_exhausted).
   */
  async release(queue: string, workerId: string, leases: readonly LeaseRef[], opts: { attemptsRan?: boolean } = {}): Promise<number> {
    if (leases.length === 0) return 0;
    const k = this.keys(queue);
    return Number(await this.run(
      "release-jobs",
      [k.ready, k.leased, k.outbox, k.jobPrefix],
      [workerId, TOMBSTONE_TTL_S, opts.attemptsRan ? "1" : "0", ...leases.flatMap((l) => [l.id, l.token])],
    ));
  }

  /**
   * Cancels a job: "cancelled" when it stopped at once, "requested" when its worker must stop
   * it (the request's actor and reason then go into the details of the CANCELLED event that
   * ends the attempt), "missing" when Redis does not hold the job (nothing changed).
   * @throws failed_precondition when it already finished.
   */
  async cancel(queue: string, id: string, by: CancelRequest): Promise<"cancelled" | "requested" | "missing"> {
    const k = this.keys(queue);
    const details = by.reason === "" ? "" : JSON.stringify({ reason: by.reason });
    const reply = await this.run(
      "cancel-job",
      [k.ready, k.delayed, k.outbox, k.jobPrefix + id],
      [id, details, TOMBSTONE_TTL_S, by.actor],
    );
    if (reply === ScriptCode.JobMissing) return "missing";
    if (isScriptCode(reply)) throw scriptCodeError(reply, id);
    return reply === 1 ? "cancelled" : "requested";
  }

  /** Moves up to `limit` due delayed jobs of `queue` to ready; resolves to how many moved. */
  async promoteDelayed(queue: string, limit: number): Promise<number> {
    const k = this.keys(queue);
    return Number(await this.run("promote-delayed", [k.delayed, k.ready, k.jobPrefix], [limit]));
  }

  /** Recovers up to `limit` expired leases of `queue`. */
  async expireLeases(queue: string, limit: number): Promise<{ requeued: number; ended: number }> {
    const k = this.keys(queue);
    const [requeued, ended] = (await this.run(
      "expire-leases",
      [k.leased, k.ready, k.outbox, k.jobPrefix],
      [limit, TOMBSTONE_TTL_S],
    )) as [number, number];
    return { requeued, ended };
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

  /** Every queue that ever received a job. */
  async knownQueues(): Promise<string[]> {
    return callRedis(() => this.redis.smembers(queuesKey(this.keyPrefix)));
  }

  private run(name: ScriptName, keys: string[], args: (string | number)[]): Promise<unknown> {
    return callRedis(() => this.scripts[name](keys, args));
  }
}

function toLeasedRecord(queue: string, row: unknown[]): LeasedRecord {
  const [id, type, payload, priority, maxAttempts, attempts, timeoutMs, scheduledMs, createdMs, token, leaseUntil, deadline, started] = row;
  return {
    id: String(id),
    type: String(type),
    queue,
    payloadJson: String(payload),
    priority: Number(priority),
    maxAttempts: Number(maxAttempts),
    attempts: Number(attempts),
    timeoutMs: Number(timeoutMs),
    scheduledMs: Number(scheduledMs),
    createdMs: Number(createdMs),
    token: String(token),
    leaseUntilMs: Number(leaseUntil),
    deadlineMs: Number(deadline),
    startedMs: Number(started),
  };
}
