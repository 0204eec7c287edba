import { setTimeout as sleep } from "node:timers/promises";
import type { PrivateRedis, Prng, StackService, WorkerPool } from "@taskflow/testkit";

/**
 * What one chaos action hits: a worker, a whole service (every replica at once), one replica of
 * a service, or Redis.
 */
export type ChaosAction = "worker" | "scheduler" | "history" | "scheduler_replica" | "history_replica" | "redis";

/** Pause between two actions, in ms: from 3 to 8 s. */
const GAP_MS: readonly [number, number] = [3_000, 8_000];
/** How long a killed service, or one killed replica, stays down before it is started again, in ms. */
const DOWNTIME_MS: Record<"scheduler" | "history", [number, number]> = {
  scheduler: [500, 2_000],
  history: [500, 3_000],
};
/** Starts tried after a kill before giving up (the port may still be held a moment). */
const START_TRIES = 10;
const START_RETRY_MS = 500;

export interface ChaosOptions {
  pool: WorkerPool;
  /** Every scheduler replica. */
  schedulers: readonly StackService[];
  /** Every history replica. */
  histories: readonly StackService[];
  redis: PrivateRedis;
  prng: Prng;
  /** How long chaos lasts, in ms. */
  durationMs: number;
  /** Ends chaos early (after the action under way). */
  signal: AbortSignal;
  /** Told of each action (a human-readable line). */
  log: (line: string) => void;
  /**
   * After each Redis restart: how long, from the loss, until Redis held again every unfinished
   * job (null: not within its wait). Its results are kept in `restores`.
   */
  timeRestore: (lostAtMs: number) => Promise<number | null>;
  /** Pause between two actions, shortest and longest, in ms (default 3 to 8 s). */
  gapMs?: readonly [number, number];
  /** The actions to choose from (default every one the stack allows). */
  actions?: readonly ChaosAction[];
}

/** What a chaos run did: the count per action, and how long each Redis loss took to repair. */
export interface ChaosOutcome {
  actions: Record<ChaosAction, number>;
  /** ms from each Redis loss until every unfinished job was back in Redis; null: not within the wait. */
  restores: (number | null)[];
}

/** A count of zero for every action. */
export const noActions = (): Record<ChaosAction, number> => ({
  worker: 0,
  scheduler: 0,
  history: 0,
  scheduler_replica: 0,
  history_replica: 0,
  redis: 0,
});

/** The actions open to a run: those asked for, else every one, killing one replica only where a service has more than one. */
function actionsFor(opts: ChaosOptions): readonly ChaosAction[] {
  if (opts.actions !== undefined) return opts.actions;
  const actions: ChaosAction[] = ["worker", "scheduler", "history", "redis"];
  if (opts.schedulers.length > 1) actions.push("scheduler_replica");
  if (opts.histories.length > 1) actions.push("history_replica");
  return actions;
}

/**
 * Every 3 to 8 s (or `gapMs`; seeded), SIGKILLs a random worker (its supervisor starts it
 * again), kills every replica of the scheduler or of history, or one replica of either, and starts
 * what it killed again after a short downtime, or restarts Redis empty. Each action completes (the
 * service is back) before the next. Resolves with the count per action once `durationMs` has
 * passed or `signal` aborted. @throws Error when a killed process cannot be started again.
 */
export async function runChaos(opts: ChaosOptions): Promise<ChaosOutcome> {
  const counts = noActions();
  const restores: (number | null)[] = [];
  const actions = actionsFor(opts);
  const deadline = Date.now() + opts.durationMs;
  const [gapMin, gapMax] = opts.gapMs ?? GAP_MS;
  const maxActions = Math.ceil(opts.durationMs / gapMin);
  for (let i = 0; i < maxActions; i++) {
    const gap = opts.prng.int(gapMin, gapMax);
    if (Date.now() + gap >= deadline) break;
    await sleep(gap, undefined, { signal: opts.signal }).catch(() => undefined);
    if (opts.signal.aborted) break;
    const action = opts.prng.pick(actions);
    await act(action, opts, restores);
    counts[action] += 1;
  }
  return { actions: counts, restores };
}

async function act(action: ChaosAction, opts: ChaosOptions, restores: (number | null)[]): Promise<void> {
  const at = (): string => new Date().toISOString();
  if (action === "worker") {
    const live = opts.pool.workers.filter((w) => !w.exited);
    if (live.length === 0) return opts.log(`${at()} chaos: no worker up to kill`);
    const worker = opts.prng.pick(live);
    opts.log(`${at()} chaos: SIGKILL worker pid ${worker.pid}`);
    // Killed behind its handle's back, so the supervisor sees a crash and starts it again.
    worker.child.kill("SIGKILL");
  } else if (action === "redis") {
    opts.log(`${at()} chaos: restart redis (every key lost)`);
    await opts.redis.restart();
    const restoredMs = await opts.timeRestore(Date.now());
    restores.push(restoredMs);
    opts.log(`${at()} chaos: ${restoredMs === null ? "unfinished jobs not all back in redis within 30 s" : `every unfinished job back in redis ${restoredMs} ms after the loss`}`);
  } else {
    const service = action.startsWith("scheduler") ? "scheduler" : "history";
    const group = service === "scheduler" ? opts.schedulers : opts.histories;
    // The whole service, or one replica while the others keep serving.
    const victims = action.endsWith("_replica") ? [opts.prng.pick(group)] : [...group];
    const downMs = opts.prng.int(...DOWNTIME_MS[service]);
    const what = victims.length === group.length ? `every ${service}` : `one ${service}`;
    const who = victims.map((v) => `${v.name} pid ${v.pid}`).join(", ");
    opts.log(`${at()} chaos: SIGKILL ${what} (${who}), down ${downMs} ms`);
    await Promise.all(victims.map((v) => v.stop("SIGKILL")));
    await sleep(downMs);
    await Promise.all(victims.map((v) => startAgain(v)));
    opts.log(`${at()} chaos: ${victims.map((v) => `${v.name} back, pid ${v.pid}`).join("; ")}`);
  }
}

/** Starts a stopped service, retrying while its port is not yet free. @throws the last error. */
export async function startAgain(service: StackService): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await service.start();
      return;
    } catch (err) {
      if (i >= START_TRIES) throw err;
      await sleep(START_RETRY_MS);
    }
  }
}
