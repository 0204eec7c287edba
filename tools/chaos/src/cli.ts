#!/usr/bin/env node
import { parseArgs } from "node:util";
import { startChaosRig } from "./chaos-rig.js";
import { runChaosExperiment } from "./run-chaos.js";

const USAGE = `pnpm chaos [--duration-s 300] [--rate 100] [--seed N] [--workers 2] [--schedulers 2] [--histories 2]

Runs --histories history and --schedulers scheduler processes (each group behind a TCP
balancer, as a Kubernetes Service), a private Redis and a supervised pool of recording workers
on a fresh database, submits --rate jobs/s (echo, short sleeps, flaky jobs) for --duration-s
seconds while, every 3 to 8 s, it SIGKILLs a worker, every scheduler or every history replica,
or one scheduler or one history replica (started again after a short downtime), or restarts
Redis empty. Then it brings every process up, calls Reconcile, waits up to 180 s for every job
to finish, and prints one JSON line:

  submitted, acknowledged      jobs offered, and those the scheduler answered for
  completed, failed, cancelled jobs per final status in PostgreSQL
  lost                         acknowledged jobs missing or unfinished at the end (must be 0)
  duplicate_executions         runs beyond one per job (flaky jobs' planned failures excepted)
  duplicate_causes             those runs by cause, from the jobs' trails: lease_expired,
                               restored_after_redis_loss, outbox_lost_with_redis
  mismatches                   Redis entries of finished jobs plus unfinished jobs Redis lacks
                               (must be 0)
  recovery_ms                  from the end of chaos until every job was terminal
  redis_restore_ms             per Redis loss, from the loss until Redis held again every job
                               PostgreSQL held unfinished (or history recorded its end):
                               losses, median, max, not_restored (not within 30 s; must be 0)
  chaos_actions                kills and restarts per action: worker, scheduler and history
                               (every replica), scheduler_replica and history_replica (one),
                               redis
  replicas                     scheduler and history processes of the run

The same --seed repeats the same choices. Exits 1 when lost, mismatches or not_restored is above 0.`;

interface Options {
  durationS: number;
  rate: number;
  seed: number;
  workers: number;
  schedulers: number;
  histories: number;
}

function parseOptions(argv: string[]): Options {
  const string = { type: "string" } as const;
  const { values } = parseArgs({
    args: argv,
    options: {
      "duration-s": string,
      rate: string,
      seed: string,
      workers: string,
      schedulers: string,
      histories: string,
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name: "duration-s" | "rate" | "seed" | "workers" | "schedulers" | "histories", min: number, max: number, fallback: number): number => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  return {
    durationS: int("duration-s", 10, 3_600, 300),
    rate: int("rate", 1, 5_000, 100),
    seed: int("seed", 0, 2 ** 32 - 1, Math.floor(Math.random() * 2 ** 32)),
    workers: int("workers", 1, 16, 2),
    schedulers: int("schedulers", 1, 4, 2),
    histories: int("histories", 1, 4, 2),
  };
}

const log = (line: string): void => console.log(line);

/** Runs every cleanup, last pushed first, whatever each one throws. */
async function cleanUp(cleanups: (() => Promise<unknown>)[]): Promise<void> {
  for (const cleanup of cleanups.reverse()) {
    await cleanup().catch((err: unknown) => console.error(`cleanup failed: ${err instanceof Error ? err.message : String(err)}`));
  }
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping and cleaning up`);
      stop.abort();
    });
  }
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const size = `${o.schedulers} schedulers, ${o.histories} histories, ${o.workers} workers`;
    log(`taskflow chaos: ${o.durationS} s at ${o.rate} jobs/s, ${size}, seed ${o.seed}`);
    const rig = await startChaosRig(o, cleanups);
    const { stack } = rig;
    const urls = (group: { url: string }[]): string => group.map((s) => s.url).join(" ");
    log(`stack up: scheduler ${stack.schedulerUrl} (${urls(stack.schedulers)}), history ${stack.historyUrl} (${urls(stack.histories)}), redis ${rig.redis.url}`);
    const report = await runChaosExperiment(rig, { ...o, signal: stop.signal, log });
    await cleanUp(cleanups.splice(0));
    console.log(JSON.stringify(report));
    if (stop.signal.aborted) return 130;
    return report.lost > 0 || report.mismatches > 0 || report.redis_restore_ms.not_restored > 0 ? 1 : 0;
  } finally {
    await cleanUp(cleanups);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
