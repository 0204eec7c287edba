/**
 * Redis key layout. Every key of a queue carries the queue's hash tag
 * (`tf:{emails}:delayed`) so that one script call touches a single Redis Cluster slot; the
 * deployment-wide keys (`tf:queues`, the reconciler's) carry none, and no script call mixes
 * them with a queue's keys.
 */

/** The keys of one queue. */
export interface QueueKeys {
  readonly queue: string;
  /**
   * Prefix of the ready sets, one per job type: `<readyPrefix><type>` is a zset of ready job ids;
   * score = priority band, then time of becoming ready. Per type, so a worker leases only the
   * types it has handlers for without stepping over the others.
   */
  readonly readyPrefix: string;
  /** set of the job types whose ready set is not empty. */
  readonly types: string;
  /** zset of waiting job ids; score = due time, ms since the Unix epoch. */
  readonly delayed: string;
  /** zset of leased job ids; score = lease deadline, ms since the Unix epoch. */
  readonly leased: string;
  /** stream of job transitions not yet recorded by history. */
  readonly outbox: string;
  /** stream of outbox entries history refused (parked), each with the error, kept until replayed. */
  readonly outboxDead: string;
  /** Prefix of the job hashes: `<jobPrefix><id>`. Same hash tag, so same slot. */
  readonly jobPrefix: string;
  /** hash of the queue's own facts: `touched_ms`, when a job last arrived; its pause and limits. */
  readonly meta: string;
  /** hash of the queue's leased jobs per type: job type -> how many (what per-type limits read). */
  readonly running: string;
  /** pub/sub channel announcing that jobs became ready. */
  readonly wakeChannel: string;
  /** The ready zset of the queue's jobs of one type. */
  ready(type: string): string;
  /** The hash of one job (`<jobPrefix><id>`). */
  job(id: string): string;
  /** Jobs one LeaseJobs request leased from this queue, so that a retry of it answers them again. */
  leaseRequest(workerId: string, requestId: string): string;
  /** The count of the queue's jobs completed in one minute (`minute` = ms since the epoch / 60,000), kept 3 minutes. */
  completedIn(minute: number): string;
}

/** Builds the keys of `queue` under `prefix`. */
export function queueKeys(prefix: string, queue: string): QueueKeys {
  const base = `${prefix}:{${queue}}`;
  const readyPrefix = `${base}:ready:`;
  return {
    queue,
    readyPrefix,
    types: `${base}:types`,
    delayed: `${base}:delayed`,
    leased: `${base}:leased`,
    outbox: `${base}:outbox`,
    outboxDead: `${base}:outbox-dead`,
    jobPrefix: `${base}:job:`,
    meta: `${base}:meta`,
    running: `${base}:running`,
    wakeChannel: `${base}:wake`,
    ready: (type) => readyPrefix + type,
    job: (id) => `${base}:job:${id}`,
    leaseRequest: (workerId, requestId) => `${base}:lease-request:${workerId}:${requestId}`,
    completedIn: (minute) => `${base}:completed:${minute}`,
  };
}

/** The single ready zset of a queue before ready sets were kept per type (see migrate-legacy-ready.lua). */
export const legacyReadyKey = (prefix: string, queue: string): string => `${prefix}:{${queue}}:ready`;

/** Set of the queues the loops sweep: every queue that holds jobs or received one lately. */
export const queuesKey = (prefix: string): string => `${prefix}:queues`;

/**
 * The submit bucket of one identity (see take-tokens.lua); identity "" (authentication off) has
 * the bare key. No hash tag of a queue: a script call touches this one key alone.
 */
export const submitRateKey = (prefix: string, identity: string): string =>
  identity === "" ? `${prefix}:submit-rate` : `${prefix}:submit-rate:${identity}`;

/** Lock held by the replica that is reconciling (one at a time per deployment). */
export const reconcileLockKey = (prefix: string): string => `${prefix}:reconcile-lock`;

/**
 * zset of retries begun (RetryJob/RetryJobs): member `<queue>/<job id>`, score = when, on Redis's
 * clock. Written before history reopens the jobs and removed once Redis holds them again, so the
 * reconciler finds the jobs of a retry that stopped in between (see RecoveryStore.retriesBefore).
 */
export const retryIntentsKey = (prefix: string): string => `${prefix}:retrying`;

/**
 * Hash of the reconciler's progress (its cursors). It is also the marker of Redis's data: it
 * exists from the first complete reconciliation on, so its absence means Redis lost its data
 * (or never had any) and every unfinished job must be restored from history at once.
 */
export const reconcileStateKey = (prefix: string): string => `${prefix}:reconcile`;

/**
 * Pub/sub channel announcing that a queue's delayed set got a job due earlier than its sender
 * knew of, so every replica arms its promotion timer for it. One channel for every queue:
 * nothing is announced for jobs due after a queue's known head, so it carries little.
 */
export const dueChannel = (prefix: string): string => `${prefix}:due`;

/** Pattern matching every queue's wake channel under `prefix`. */
export function wakePattern(prefix: string): string {
  return `${escapeGlob(prefix)}:{*}:wake`;
}

/** Recovers the queue name from a wake channel, or undefined for a foreign channel. */
export function queueOfWakeChannel(prefix: string, channel: string): string | undefined {
  const head = `${prefix}:{`;
  const tail = "}:wake";
  if (!channel.startsWith(head) || !channel.endsWith(tail)) return undefined;
  return channel.slice(head.length, channel.length - tail.length);
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * The keys of the schedules' firing state, under a hash tag of their own (`{~schedules}`: "~"
 * is no character of a queue name, so no queue's keys share it): every schedule script call
 * touches one slot.
 */
export interface ScheduleKeys {
  /** zset of the schedules that fire; score = next tick, ms since the Unix epoch. */
  readonly due: string;
  /** zset of the firings in flight; score = when claimed (Redis time, ms). */
  readonly firing: string;
  /** The hash of one schedule: version, def, firing, firing_token, last_job_id, last_job_queue, last_run_ms. */
  schedule(id: string): string;
}

export function scheduleKeys(prefix: string): ScheduleKeys {
  const base = `${prefix}:{~schedules}`;
  return { due: `${base}:due`, firing: `${base}:firing`, schedule: (id) => `${base}:schedule:${id}` };
}

/** How many of a queue's jobs (or of one job type's) may run at once and start per window; zero: no limit. */
export interface QueueLimits {
  maxRunning: number;
  maxStarts: number;
  perMs: number;
}

/** Prefix of a job type's limits among the queue's meta fields ("" for the queue's own; see lease-jobs.lua). */
export const limitsPrefix = (type: string): string => (type === "" ? "" : `type:${type}:`);

/** The limits of one job type (or, for "", the queue's own) among a queue's meta fields. */
export function limitsIn(meta: Readonly<Record<string, string>>, type: string): QueueLimits {
  const p = limitsPrefix(type);
  return {
    maxRunning: Number(meta[`${p}max_running`] ?? 0),
    maxStarts: Number(meta[`${p}max_starts`] ?? 0),
    perMs: Number(meta[`${p}per_ms`] ?? 0),
  };
}
