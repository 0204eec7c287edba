import { setTimeout as sleep } from "node:timers/promises";
import type { PrivateRedis, StackService, WorkerPool } from "@taskflow/testkit";
import type { Prng } from "./prng.js";

/** What chaos can hit. */
export type ChaosTarget = "worker" | "scheduler" | "history" | "redis";

const TARGETS: readonly ChaosTarget[] = ["worker", "scheduler", "history", "redis"];
/** Pause between two actions, in ms. */
const GAP_MIN_MS = 3_000;
const GAP_MAX_MS = 8_000;
/** How long a killed service stays down before it is started again, in ms. */
const DOWNTIME_MS: Record<"scheduler" | "history", [number, number]> = {
  scheduler: [500, 2_000],
  history: [500, 3_000],
};
/** Starts tried after a kill before giving up (the port may still be held a moment). */
const START_TRIES = 10;
const START_RETRY_MS = 500;

export interface ChaosOptions {
  pool: WorkerPool;
  scheduler: StackService;
  history: StackService;
  redis: PrivateRedis;
  prng: Prng;
  /** How long chaos lasts, in ms. */
  durationMs: number;
  /** Ends chaos early (after the action under way). */
  signal: AbortSignal;
  /** Told of each action (a human-readable line). */
  log: (line: string) => void;
}

/**
 * Every 3 to 8 s (seeded), SIGKILLs a random worker (its supervisor starts it again), kills the
 * scheduler or history and starts it again after a short downtime, or restarts Redis empty.
 * Each action completes (the service is back) before the next. Resolves with the count per
 * target once `durationMs` has passed or `signal` aborted. @throws Error when a killed service
 * cannot be started again.
 */
export async function runChaos(opts: ChaosOptions): Promise<Record<ChaosTarget, number>> {
  const counts: Record<ChaosTarget, number> = { worker: 0, scheduler: 0, history: 0, redis: 0 };
  const deadline = Date.now() + opts.durationMs;
  const maxActions = Math.ceil(opts.durationMs / GAP_MIN_MS);
  for (let i = 0; i < maxActions; i++) {
    const gap = opts.prng.int(GAP_MIN_MS, GAP_MAX_MS);
    if (Date.now() + gap >= deadline) break;
    await sleep(gap, undefined, { signal: opts.signal }).catch(() => undefined);
    if (opts.signal.aborted) break;
    const target = opts.prng.pick(TARGETS);
    await act(target, opts);
    counts[target] += 1;
  }
  return counts;
}

async function act(target: ChaosTarget, opts: ChaosOptions): Promise<void> {
  const at = (): string => new Date().toISOString();
  if (target === "worker") {
    const live = opts.pool.workers.filter((w) => !w.exited);
    if (live.length === 0) return opts.log(`${at()} chaos: no worker up to kill`);
    const worker = opts.prng.pick(live);
    opts.log(`${at()} chaos: SIGKILL worker pid ${worker.pid}`);
    // Killed behind its handle's back, so the supervisor sees a crash and starts it again.
    worker.child.kill("SIGKILL");
  } else if (target === "redis") {
    opts.log(`${at()} chaos: restart redis (every key lost)`);
    await opts.redis.restart();
  } else {
    const service = opts[target];
    const downMs = opts.prng.int(...DOWNTIME_MS[target]);
    opts.log(`${at()} chaos: SIGKILL ${target} pid ${service.pid}, down ${downMs} ms`);
    await service.stop("SIGKILL");
    await sleep(downMs);
    await startAgain(service);
    opts.log(`${at()} chaos: ${target} back, pid ${service.pid}`);
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
