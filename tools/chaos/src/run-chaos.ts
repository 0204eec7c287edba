import { setTimeout as sleep } from "node:timers/promises";
import { toSubmitRequest, type SubmitInput } from "@taskflow/client";
import { createPrng, readExecLog } from "@taskflow/testkit";
import { emptyTally, runBatchLoad, type LoadTally } from "./batch-load.js";
import { startAgain, runChaos, type ChaosAction, type ChaosOptions, type ChaosOutcome } from "./chaos-loop.js";
import type { ChaosRig } from "./chaos-rig.js";
import {
  countDuplicates,
  countLost,
  countMismatches,
  countStatuses,
  duplicateCauses,
  reconcileOnce,
  timeRestore,
  untilAllTerminal,
  type DuplicateCauses,
} from "./settle.js";

/** Longest wait for every job to finish once chaos ended, in ms. */
const SETTLE_TIMEOUT_MS = 180_000;
/** Longest wait for every process to be up, and for Reconcile to answer, in ms. */
const UP_TIMEOUT_MS = 30_000;
/** Longest wait for Redis to agree with PostgreSQL once every job finished, in ms. */
const AGREE_TIMEOUT_MS = 10_000;
/** Longest wait of one SubmitJobs call, in ms: a call to a killed scheduler must not hang the load. */
const SUBMIT_TIMEOUT_MS = 5_000;
/** Pause between progress lines, in ms. */
const PROGRESS_MS = 10_000;

export interface ChaosRunOptions extends Pick<ChaosOptions, "gapMs" | "actions"> {
  durationS: number;
  /** Jobs offered per second. */
  rate: number;
  seed: number;
  signal: AbortSignal;
  log: (line: string) => void;
}

/** The JSON line a chaos run ends with. */
export interface ChaosReport {
  submitted: number;
  acknowledged: number;
  completed: number;
  failed: number;
  cancelled: number;
  lost: number;
  duplicate_executions: number;
  /** The duplicate executions by what caused them (see DuplicateCauses). */
  duplicate_causes: DuplicateCauses;
  mismatches: number;
  /** From the end of chaos until every job was terminal; null when that never happened. */
  recovery_ms: number | null;
  /**
   * Per Redis loss, from the loss until Redis held again every job PostgreSQL held unfinished (the
   * restore the scheduler starts when its marker is gone; a job whose end history recorded
   * meanwhile counts as settled): how many, the median and the worst, in ms; `not_restored`
   * counts losses not repaired within 30 s.
   */
  redis_restore_ms: { losses: number; median: number | null; max: number | null; not_restored: number };
  /** Kills and restarts per action: a worker, every replica of a service, one replica, Redis. */
  chaos_actions: Record<ChaosAction, number>;
  /** Processes of each service the run had. */
  replicas: { scheduler: number; history: number };
  duration_s: number;
  seed: number;
}

/**
 * Runs the load and chaos side by side for `durationS`, then brings every process up, reconciles,
 * waits (at most 180 s) for every job to finish, and reports what history, Redis and the
 * execution log hold. @throws Error when a killed service cannot be started again.
 */
export async function runChaosExperiment(rig: ChaosRig, o: ChaosRunOptions): Promise<ChaosReport> {
  const { tally, actions, restores } = await underChaos(rig, o);
  const chaosEndedAt = Date.now();
  o.log(`chaos over: ${JSON.stringify(actions)}; ${tally.acknowledged.length} of ${tally.submitted} jobs acknowledged`);
  await bringUp(rig);
  o.log(`every process up; reconcile requeued ${await reconcileOnce(rig.admin, UP_TIMEOUT_MS)} jobs`);
  const settled = await untilAllTerminal(rig.db, SETTLE_TIMEOUT_MS, o.signal);
  const recoveryMs = settled ? Date.now() - chaosEndedAt : null;
  o.log(settled ? `every job terminal ${recoveryMs} ms after chaos ended` : "jobs still unfinished: gave up waiting");
  const counts = await countStatuses(rig.db);
  const execLog = await readExecLog(rig.execLog);
  return {
    submitted: tally.submitted,
    acknowledged: tally.acknowledged.length,
    completed: counts.completed,
    failed: counts.failed,
    cancelled: counts.cancelled,
    lost: await countLost(rig.db, tally.acknowledged),
    duplicate_executions: countDuplicates(execLog),
    duplicate_causes: await duplicateCauses(rig.db, execLog),
    mismatches: await settledMismatches(rig, o.signal),
    recovery_ms: recoveryMs,
    redis_restore_ms: summarizeRestores(restores),
    chaos_actions: actions,
    replicas: { scheduler: rig.stack.schedulers.length, history: rig.stack.histories.length },
    duration_s: o.durationS,
    seed: o.seed,
  };
}

/** The load and the chaos loop together; a chaos failure ends the load too. */
async function underChaos(rig: ChaosRig, o: ChaosRunOptions): Promise<{ tally: LoadTally } & ChaosOutcome> {
  const phase = new AbortController();
  const end = (): void => phase.abort();
  o.signal.addEventListener("abort", end, { once: true });
  const tally = emptyTally();
  const progress = setInterval(() => {
    o.log(`load: ${tally.submitted} submitted, ${tally.acknowledged.length} acknowledged, ${tally.unanswered} unanswered`);
  }, PROGRESS_MS);
  const durationMs = o.durationS * 1000;
  const submit = async (inputs: SubmitInput[]): Promise<string[]> => {
    const res = await rig.scheduler.submitJobs({ jobs: inputs.map(toSubmitRequest) }, { timeoutMs: SUBMIT_TIMEOUT_MS });
    return res.jobs.map((j) => j.id);
  };
  const load = runBatchLoad({ submit, rate: o.rate, durationMs, prng: createPrng(o.seed + 1), signal: phase.signal }, tally);
  try {
    const { stack, pool, redis } = rig;
    const chaos = { pool, redis, schedulers: stack.schedulers, histories: stack.histories, prng: createPrng(o.seed) };
    const restore = (lostAtMs: number) => timeRestore(rig.db, rig.redisClient, stack.keyPrefix, lostAtMs);
    const pace = { gapMs: o.gapMs, actions: o.actions };
    const outcome = await runChaos({ ...chaos, ...pace, durationMs, signal: phase.signal, log: o.log, timeRestore: restore }).catch(
      (err: unknown) => {
        phase.abort();
        throw err;
      },
    );
    await load;
    return { tally, ...outcome };
  } finally {
    clearInterval(progress);
    o.signal.removeEventListener("abort", end);
    await load;
  }
}

/** Count, median (the lower middle of an even count) and worst of the restore times; null ones were not restored. */
export function summarizeRestores(restores: readonly (number | null)[]): ChaosReport["redis_restore_ms"] {
  const done = restores.filter((ms): ms is number => ms !== null).sort((a, b) => a - b);
  return {
    losses: restores.length,
    median: done.length === 0 ? null : done[Math.floor((done.length - 1) / 2)]!,
    max: done.at(-1) ?? null,
    not_restored: restores.length - done.length,
  };
}

/** Starts every history and scheduler replica that is down, and waits for the supervisor to have every worker up. */
async function bringUp(rig: ChaosRig): Promise<void> {
  for (const service of [...rig.stack.histories, ...rig.stack.schedulers]) if (service.exited) await startAgain(service);
  const deadline = Date.now() + UP_TIMEOUT_MS;
  while (rig.pool.workers.some((w) => w.exited)) {
    if (Date.now() > deadline) throw new Error(`a worker was not up again within ${UP_TIMEOUT_MS} ms`);
    await sleep(100);
  }
}

/**
 * Mismatches between Redis and PostgreSQL, allowing a few seconds for what is still in flight
 * (a finished job's last forward, the periodic reconciler's grace) to land.
 */
async function settledMismatches(rig: ChaosRig, signal: AbortSignal): Promise<number> {
  const deadline = Date.now() + AGREE_TIMEOUT_MS;
  for (;;) {
    const n = await countMismatches(rig.db, rig.redisClient, rig.stack.keyPrefix);
    if (n === 0 || signal.aborted || Date.now() > deadline) return n;
    await sleep(500);
  }
}
