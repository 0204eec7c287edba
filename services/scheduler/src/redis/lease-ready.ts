import { randomBytes } from "node:crypto";
import { callRedis } from "../errors.js";
import { declaredKeys, type KnownTypes } from "./declared-types.js";
import { toLeasedRecord, type LeaseAsk, type LeasedRecord } from "./job-records.js";
import { limitsIn, type QueueKeys } from "./keys.js";
import type { RedisClient } from "./redis-client.js";
import type { RunScript } from "./scripts.js";

/** A lease reads this many candidates beyond its ask, so a few taken meanwhile still leave it enough. */
const CANDIDATE_SLACK = 8;
/**
 * Reads and script calls one lease makes at most while other calls take every candidate it read;
 * each round reads twice as many, so even many workers racing for one queue's head get jobs.
 */
const MAX_ROUNDS = 6;
/** Most candidates one round reads. */
const MAX_CANDIDATES = 4_096;

/** What {@link leaseReady} works with. */
export interface LeaseContext {
  redis: RedisClient;
  run: RunScript;
  types: KnownTypes;
  leaseMs: number;
  graceMs: number;
}

/**
 * What one lease got, and whether the queue's limits held jobs back: `heldMs` is when the start
 * rate allows another start, -1 while the queue runs as many jobs as it may, 0 when they held
 * nothing back.
 */
export interface LeaseResult {
  records: LeasedRecord[];
  heldMs: number;
}

/** A ready job at the head of its type's ready set, as read before the lease script runs. */
interface Candidate {
  id: string;
  type: string;
  score: number;
}

interface Read {
  /** The best candidates across the ready sets read, best first. */
  candidates: Candidate[];
  /** Ids the request key held (a retried request's leases). */
  prior: string[];
  /** The queue was paused when read. */
  paused: boolean;
}

/**
 * Leases ready jobs of one queue (see lease-jobs.lua). The script may touch only keys it
 * declares, so the heads of the wanted types' ready sets are read first (one pipeline on the
 * queue's slot; the set of types with ready jobs before that when the worker names none), then
 * the script leases those still ready, best first, in one call. When others leased every
 * candidate in between, it reads again, more deeply.
 */
export async function leaseReady(c: LeaseContext, k: QueueKeys, workerId: string, ask: LeaseAsk): Promise<LeaseResult> {
  const nonce = randomBytes(12).toString("base64url");
  const retriable = ask.requestId !== "";
  const requestKey = k.leaseRequest(workerId, retriable ? ask.requestId : nonce);
  let depth = ask.max + CANDIDATE_SLACK;
  for (let round = 1; ; round += 1) {
    const read = await readCandidates(c.redis, k, ask.types, depth, retriable ? requestKey : undefined);
    // A paused queue costs no script call; the script checks again, so a pause read too late still holds.
    if ((read.candidates.length === 0 || read.paused) && read.prior.length === 0) return { records: [], heldMs: 0 };
    const candidateTypes = [...new Set(read.candidates.map((x) => x.type))];
    c.types.learn(k.queue, candidateTypes);
    const [keys, args] = declaredKeys(k, candidateTypes, {
      fixed: [k.types, k.leased, k.outbox, requestKey, k.meta, k.running],
      jobKeys: [...read.candidates.map((x) => k.job(x.id)), ...read.prior.map((id) => k.job(id))],
      args: [
        ask.max, workerId, c.leaseMs, c.graceMs, nonce, ask.maxBytes, read.candidates.length, read.prior.length, ask.actor,
        ...read.candidates.flatMap((x) => [x.id, x.type]), ...read.prior,
      ],
    });
    let reply: [unknown[][], number, number?];
    try {
      reply = (await callRedis(() => c.run(keys, args))) as [unknown[][], number, number?];
    } catch (err) {
      // The request key changed since it was read (the same request running alongside): read again.
      if (err instanceof Error && err.message.startsWith("TF_STALE_READ") && round < MAX_ROUNDS) continue;
      throw err;
    }
    const [rows, passed, held] = reply;
    if (rows.length > 0 || Number(passed) === 0 || round >= MAX_ROUNDS) {
      return { records: rows.map((row) => toLeasedRecord(k.queue, row)), heldMs: Number(held ?? 0) };
    }
    depth = Math.min(MAX_CANDIDATES, depth * 2);
  }
}

/**
 * The best `depth` ready jobs of `types` (every type with ready jobs when empty), and what the
 * request key holds. A type with limits gives no more candidates than its limits leave room
 * for, and at least one (so the script sees it held back): the jobs of a type at its limit do
 * not crowd out those of other types.
 */
async function readCandidates(redis: RedisClient, k: QueueKeys, types: readonly string[], depth: number, requestKey: string | undefined): Promise<Read> {
  const wanted = types.length > 0 ? types : await callRedis(() => redis.smembers(k.types));
  const replies = await callRedis(() => {
    const p = redis.pipeline();
    for (const t of wanted) p.zrange(k.ready(t), 0, String(depth - 1), "WITHSCORES");
    p.hgetall(k.meta);
    p.hgetall(k.running);
    if (requestKey !== undefined) p.lrange(requestKey, 0, -1);
    return p.exec();
  });
  const results = (replies ?? []).map(([err, value]) => {
    if (err) throw err;
    return value;
  });
  const meta = results[wanted.length] as Record<string, string>;
  const running = results[wanted.length + 1] as Record<string, string>;
  const candidates: Candidate[] = [];
  wanted.forEach((type, i) => {
    const flat = (results[i] ?? []) as string[];
    const most = 2 * typeRoom(meta, running, type);
    for (let j = 0; j + 1 < flat.length && j < most; j += 2) candidates.push({ id: flat[j]!, type, score: Number(flat[j + 1]) });
  });
  // Highest priority, then oldest, then id (UUIDv7: first submitted), as the ready scores order them.
  candidates.sort((a, b) => a.score - b.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const held = requestKey === undefined ? [] : ((results[wanted.length + 2] ?? []) as string[]);
  return { candidates: candidates.slice(0, depth), prior: held.filter((_, i) => i % 2 === 0), paused: "paused" in meta };
}

/** How many of `type`'s jobs its limits (as read) leave room for: at least 1, Infinity without limits. */
function typeRoom(meta: Record<string, string>, running: Record<string, string>, type: string): number {
  const { maxRunning, maxStarts } = limitsIn(meta, type);
  let room = Infinity;
  if (maxRunning > 0) room = maxRunning - Number(running[type] ?? 0);
  if (maxStarts > 0) room = Math.min(room, maxStarts);
  return Math.max(1, room);
}
