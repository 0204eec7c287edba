import { callRedis } from "../errors.js";
import type { ScheduleDef } from "../schedules/parse-schedule.js";
import { queueKeys, scheduleKeys, type ScheduleKeys } from "./keys.js";
import type { RedisClient } from "./redis-client.js";
import { defineScripts, type ScriptOptions, type Scripts } from "./scripts.js";

/** How long a deleted schedule's tombstone fences off its older versions, in ms (a day). */
export const SCHEDULE_TOMBSTONE_MS = 86_400_000;

/** The last run Redis knows of a schedule. */
export interface LastRun {
  jobId: string;
  queue: string;
  runAtMs: number;
}

/** A schedule's firing state as Redis holds it. */
export interface ScheduleState {
  id: string;
  version: string;
  def: ScheduleDef;
  lastRun: LastRun | undefined;
}

/** What to write for one schedule (see put-schedule.lua). */
export interface PutSchedule {
  def: ScheduleDef;
  version: bigint;
  /** 0: none (paused, or the cron fires no more). */
  nextMs: number;
  /** The last run as history knows it, kept only when Redis knows none. */
  lastRun?: LastRun;
}

/**
 * The schedules' firing state in Redis: a due zset of next ticks, a hash per schedule (its
 * definition and version, its last run, the firing in flight) and a zset of firings in flight.
 * Every change is one script call on the `{~schedules}` slot; the definitions themselves live in
 * history, which this state is rebuilt from after a loss.
 */
export class ScheduleStore {
  readonly keys: ScheduleKeys;
  private readonly scripts: Scripts;

  constructor(
    readonly redis: RedisClient,
    private readonly prefix: string,
    opts: ScriptOptions = {},
  ) {
    this.keys = scheduleKeys(prefix);
    this.scripts = defineScripts(redis, opts);
  }

  /** Writes a schedule unless Redis holds its version or a newer one; resolves to whether it wrote. */
  async put(p: PutSchedule): Promise<boolean> {
    const k = this.keys;
    const last = p.lastRun;
    const args = [p.def.id, p.version.toString(), JSON.stringify(p.def), p.nextMs, last?.jobId ?? "", last?.queue ?? "", last?.runAtMs ?? 0];
    return (await callRedis(() => this.scripts["put-schedule"]([k.schedule(p.def.id), k.due], args))) === 1;
  }

  /** Drops a schedule unless Redis holds a version newer than `version`. */
  async drop(id: string, version: bigint | string): Promise<boolean> {
    const k = this.keys;
    const args = [id, version.toString(), SCHEDULE_TOMBSTONE_MS];
    return (await callRedis(() => this.scripts["drop-schedule"]([k.schedule(id), k.due, k.firing], args))) === 1;
  }

  /** Redis's clock (ms) and up to `limit` schedules due by it, each with its next tick. */
  async due(limit: number): Promise<{ nowMs: number; due: { id: string; nextMs: number }[] }> {
    return callRedis(async () => {
      const [s, us] = await this.redis.time();
      const nowMs = Number(s) * 1000 + Math.floor(Number(us) / 1000);
      const flat = await this.redis.zrangebyscore(this.keys.due, "-inf", nowMs, "WITHSCORES", "LIMIT", 0, limit);
      const due: { id: string; nextMs: number }[] = [];
      for (let i = 0; i < flat.length; i += 2) due.push({ id: flat[i]!, nextMs: Number(flat[i + 1]) });
      return { nowMs, due };
    });
  }

  /** Ids of firings claimed before `beforeMs` (Redis time) that were never ended. */
  async staleFirings(beforeMs: number, limit: number): Promise<string[]> {
    return callRedis(() => this.redis.zrangebyscore(this.keys.firing, "-inf", beforeMs, "LIMIT", 0, limit));
  }

  /** Every schedule id the due zset holds (for the reconciler). */
  async dueIds(): Promise<string[]> {
    return callRedis(() => this.redis.zrange(this.keys.due, "0", "-1"));
  }

  /** The firing state of each of `ids`; undefined for one Redis does not hold (or holds deleted). */
  async read(ids: readonly string[]): Promise<(ScheduleState | undefined)[]> {
    if (ids.length === 0) return [];
    const rows = await callRedis(() => Promise.all(ids.map((id) => this.redis.hgetall(this.keys.schedule(id)))));
    return rows.map((f, i) => {
      if (f.def === undefined || f.version === undefined || f.deleted !== undefined) return undefined;
      const lastRun = f.last_job_id === undefined ? undefined : { jobId: f.last_job_id, queue: f.last_job_queue ?? "", runAtMs: Number(f.last_run_ms ?? 0) };
      return { id: ids[i]!, version: f.version, def: JSON.parse(f.def) as ScheduleDef, lastRun };
    });
  }

  /** The next tick Redis holds for each of `ids` (undefined: none, e.g. paused). */
  async nextTicks(ids: readonly string[]): Promise<(number | undefined)[]> {
    if (ids.length === 0) return [];
    const scores = await callRedis(() => this.redis.zmscore(this.keys.due, ...ids.map(String)));
    return scores.map((s) => (s === null ? undefined : Number(s)));
  }

  /** Claims ticks (see claim-schedule-ticks.lua); resolves to whether this caller holds the firing. */
  async claim(c: { id: string; expectedNextMs: number; version: string; nextMs: number; ticks: number[]; token: string }): Promise<boolean> {
    const k = this.keys;
    const args: (string | number)[] = [c.id, c.expectedNextMs, c.version, c.nextMs, JSON.stringify({ ticks: c.ticks }), c.token];
    return (await callRedis(() => this.scripts["claim-schedule-ticks"]([k.schedule(c.id), k.due, k.firing], args))) === 1;
  }

  /** Ends a firing and records its last run (see finish-schedule-firing.lua). */
  async finish(id: string, token: string, last: LastRun | undefined): Promise<boolean> {
    const k = this.keys;
    const args = [id, token, last?.jobId ?? "", last?.queue ?? "", last?.runAtMs ?? 0];
    return (await callRedis(() => this.scripts["finish-schedule-firing"]([k.schedule(id), k.firing], args))) === 1;
  }

  /** Takes over a stale firing under `token`; resolves to its ticks, undefined when it is not stale. */
  async retake(id: string, leaseMs: number, token: string): Promise<number[] | undefined> {
    const k = this.keys;
    const reply = await callRedis(() => this.scripts["retake-schedule-firing"]([k.schedule(id), k.firing], [id, leaseMs, token]));
    return typeof reply === "string" ? (JSON.parse(reply) as { ticks: number[] }).ticks : undefined;
  }

  /** Records a run outside the tick sequence as the last run (see note-schedule-run.lua). */
  async noteRun(id: string, run: LastRun): Promise<void> {
    await callRedis(() => this.scripts["note-schedule-run"]([this.keys.schedule(id)], [run.jobId, run.queue, run.runAtMs]));
  }

  /** A job's status text as its hash holds it ("" when Redis does not hold the job). */
  async jobStatus(queue: string, jobId: string): Promise<string> {
    return (await callRedis(() => this.redis.hget(queueKeys(this.prefix, queue).job(jobId), "status"))) ?? "";
  }
}
