import { randomBytes } from "node:crypto";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import { PeriodicLoop } from "@taskflow/service-kit";
import type { Deps } from "../deps.js";
import type { ScheduleRunInit } from "../history-client.js";
import type { LastRun, ScheduleState } from "../redis/schedule-store.js";
import { fireRun, SCHEDULE_ACTOR, tickKey } from "../schedules/fire-run.js";
import { dueTicks } from "../schedules/schedule-spec.js";

/** Most schedules one run claims, and most stale firings it takes over. */
export const FIRE_BATCH = 100;
/** Most runs per RecordScheduleRuns call (history's limit). */
const RECORD_BATCH = 1_000;

export interface FireSchedulesOptions {
  /** Period of the loop, in ms (SCHEDULE_POLL_INTERVAL_MS): how late a tick may fire. */
  intervalMs: number;
  /** A tick reached later than this after its time was missed, in ms (SCHEDULE_MISFIRE_MS). */
  misfireMs: number;
  /** How long a claimed firing may stay in flight before another replica takes it over, in ms (SCHEDULE_FIRING_LEASE_MS). */
  firingLeaseMs: number;
}

/** A firing one replica holds: a schedule's ticks to submit. */
interface Firing {
  state: ScheduleState;
  ticks: number[];
  token: string;
  nextMs: number | undefined;
}

/**
 * Fires due schedules on every replica: each run reads the due schedules on Redis's clock,
 * works out each one's ticks (on time, and the newest `catch_up` of those missed), and claims
 * them with one compare-and-advance script call per schedule; only the replica whose claim
 * succeeds submits the runs, through the submit path with an idempotency key per schedule and
 * tick. A firing whose replica died before it ended is taken over after `firingLeaseMs` and
 * submitted again, which yields the jobs already submitted. The runs then reach history
 * (RecordScheduleRuns: last run, next tick), in one call per loop run.
 */
export class FireSchedules {
  private readonly loop: PeriodicLoop;
  private readonly logger: Logger;

  constructor(
    private readonly d: Deps,
    private readonly opts: FireSchedulesOptions,
  ) {
    this.logger = d.logger.child({ component: "fire-schedules" });
    this.loop = new PeriodicLoop({ intervalMs: opts.intervalMs, maxBackoffMs: 5_000, logger: this.logger, run: () => this.runOnce() });
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** One pass: takes over stale firings, claims due ticks, submits their runs; resolves to the jobs submitted. */
  async runOnce(): Promise<number> {
    const { nowMs, due } = await this.d.schedules.due(FIRE_BATCH);
    const stale = await this.d.schedules.staleFirings(nowMs - this.opts.firingLeaseMs, FIRE_BATCH);
    const firings = [...(await this.retakeAll(stale)), ...(await this.claimAll(due, nowMs))];
    // Each firing goes on whatever another's fate: a failed one stays in flight and is taken
    // over after the lease; the runs of the others still reach history.
    const done = await Promise.allSettled(firings.map((f) => this.carryOut(f)));
    const runs = done.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
    for (let i = 0; i < runs.length; i += RECORD_BATCH) await this.d.history.recordScheduleRuns(runs.slice(i, i + RECORD_BATCH));
    const failed = done.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    return runs.length;
  }

  private async retakeAll(ids: readonly string[]): Promise<Firing[]> {
    const states = await this.d.schedules.read(ids);
    const firings: Firing[] = [];
    for (const state of states) {
      if (state === undefined) continue;
      const token = newToken();
      const ticks = await this.d.schedules.retake(state.id, this.opts.firingLeaseMs, token);
      if (ticks === undefined) continue;
      this.logger.info({ schedule_id: state.id, ticks: ticks.length }, "schedule firing taken over");
      const [nextMs] = await this.d.schedules.nextTicks([state.id]);
      firings.push({ state, ticks, token, nextMs });
    }
    return firings;
  }

  private async claimAll(due: readonly { id: string; nextMs: number }[], nowMs: number): Promise<Firing[]> {
    const states = await this.d.schedules.read(due.map((s) => s.id));
    const firings: Firing[] = [];
    for (const [i, state] of states.entries()) {
      if (state === undefined) continue;
      const expectedNextMs = due[i]!.nextMs;
      const ticks = dueTicks(state.def.spec, expectedNextMs, nowMs, state.def.catchUp, this.opts.misfireMs);
      const token = newToken();
      const claimed = await this.d.schedules.claim({ id: state.id, expectedNextMs, version: state.version, nextMs: ticks.next ?? 0, ticks: ticks.fire, token });
      if (!claimed) continue;
      if (ticks.skipped > 0) this.logger.info({ schedule_id: state.id, skipped: ticks.skipped }, "schedule ticks missed and skipped");
      firings.push({ state, ticks: ticks.fire, token, nextMs: ticks.next });
    }
    return firings;
  }

  /** Submits a firing's runs in tick order, then ends it; resolves to the runs for history. */
  private async carryOut(f: Firing): Promise<ScheduleRunInit[]> {
    const { state } = f;
    let previous: LastRun | undefined = state.lastRun;
    const runs: ScheduleRunInit[] = [];
    const signal = AbortSignal.timeout(this.opts.firingLeaseMs);
    for (const tick of f.ticks) {
      const outcome = await this.fireTick(state, tick, previous, signal);
      if (outcome === undefined) continue;
      previous = { jobId: outcome.id, queue: outcome.queue, runAtMs: tick };
      runs.push({ scheduleId: state.id, runAt: timestampFromMs(tick), jobId: outcome.id, nextRunAt: f.nextMs === undefined ? undefined : timestampFromMs(f.nextMs) });
    }
    const fired = previous !== state.lastRun ? previous : undefined;
    await this.d.schedules.finish(state.id, f.token, fired);
    return runs;
  }

  /** One tick's run; undefined when the overlap policy held it back. */
  private async fireTick(state: ScheduleState, tick: number, previous: LastRun | undefined, signal: AbortSignal) {
    try {
      const { job } = await fireRun(this.d, state.def, tick, tickKey(state.id, tick), SCHEDULE_ACTOR, previous, signal);
      if (job === undefined) this.logger.info({ schedule_id: state.id, tick_ms: tick }, "schedule run skipped: previous run unfinished");
      else this.logger.debug({ schedule_id: state.id, tick_ms: tick, job_id: job.id }, "schedule fired");
      return job;
    } catch (err) {
      // The tick's key names a run submitted with another template (the schedule changed
      // between a claim and its take-over): that run stands for the tick.
      if (err instanceof ConnectError && err.code === Code.AlreadyExists) return undefined;
      throw err;
    }
  }
}

const newToken = (): string => randomBytes(12).toString("base64url");
