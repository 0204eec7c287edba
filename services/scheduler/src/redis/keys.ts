/**
 * Redis key layout. Every key of a queue carries the queue's hash tag
 * (`tf:{emails}:ready`) so that one script call touches a single Redis Cluster slot.
 */

/** The keys of one queue. */
export interface QueueKeys {
  readonly queue: string;
  /** zset of ready job ids; score = priority band, then time of becoming ready. */
  readonly ready: string;
  /** zset of waiting job ids; score = due time, ms since the Unix epoch. */
  readonly delayed: string;
  /** zset of leased job ids; score = lease deadline, ms since the Unix epoch. */
  readonly leased: string;
  /** stream of job transitions not yet recorded by history. */
  readonly outbox: string;
  /** stream of outbox entries history refused (dead letters), each with the error, for an operator. */
  readonly outboxDead: string;
  /** Prefix of the job hashes: `<jobPrefix><id>`. Same hash tag, so same slot. */
  readonly jobPrefix: string;
  /** pub/sub channel announcing that jobs became ready. */
  readonly wakeChannel: string;
}

/** Builds the keys of `queue` under `prefix`. */
export function queueKeys(prefix: string, queue: string): QueueKeys {
  const base = `${prefix}:{${queue}}`;
  return {
    queue,
    ready: `${base}:ready`,
    delayed: `${base}:delayed`,
    leased: `${base}:leased`,
    outbox: `${base}:outbox`,
    outboxDead: `${base}:outbox-dead`,
    jobPrefix: `${base}:job:`,
    wakeChannel: `${base}:wake`,
  };
}

/** Set of every queue that ever received a job; the loops sweep these. */
export const queuesKey = (prefix: string): string => `${prefix}:queues`;

/** Lock held by the replica that is reconciling (one at a time per deployment). */
export const reconcileLockKey = (prefix: string): string => `${prefix}:reconcile-lock`;

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
