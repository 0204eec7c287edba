#!/usr/bin/env node
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { testRedisUrl } from "@taskflow/testkit";
import { Redis } from "ioredis";
import pg from "pg";
import { postmasterPid } from "./cpu.js";
import { phaseName, runPhase, type Phase } from "./phases.js";
import { startBullMq, startTaskFlow, type SystemUnderTest } from "./systems.js";
import { Tally, type SystemName } from "./tally.js";

const USAGE = `pnpm bench [--rounds N] [--jobs N] [--open-seconds N] [--concurrency 10,100] [--phases drain,e2e,latency,delayed,floor] [--systems taskflow,bullmq]

TaskFlow (history, scheduler and worker as separate processes, as deployed) and BullMQ (producer
and worker processes) on the same Redis and PostgreSQL, the same ~120-byte echo jobs, phase by
phase, interleaved: each phase runs on TaskFlow, then on BullMQ, in every round.

Phases, each at every worker concurrency:
  drain    submit --jobs in batches of 1,000 with no worker running (submit), then drain them
  e2e      --jobs in batches of 500 while one worker runs, first submit to last completion
  latency  single-job submits at 500 and 1,000 per second for --open-seconds (open loop):
           the submit call's answer, submit to handler start, submit to completed
  delayed  single-job submits at 200 per second, each due 1 to 2 s later: handler start - due
  floor    latency's submits against a stand-in scheduler that does nothing (TaskFlow only, no
           worker): what Connect over HTTP/2 alone costs here, answer time and CPU per call
The open-loop phases (latency, delayed, floor) run one unmeasured second of the same load first.
TaskFlow's jobs are completed when history has recorded it; BullMQ's at finishedOn.

Prints a table of medians, spreads and TaskFlow/BullMQ ratios, CPU per component from /proc
(Redis from INFO cpu), and one JSON line last.`;

interface Options {
  rounds: number;
  jobs: number;
  openSeconds: number;
  phases: Phase[];
  systems: SystemName[];
}

function parseOptions(argv: string[]): Options {
  const string = { type: "string" } as const;
  const { values } = parseArgs({
    args: argv,
    options: { rounds: string, jobs: string, "open-seconds": string, concurrency: string, phases: string, systems: string, help: { type: "boolean" } },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name: string, raw: string | undefined, fallback: number, min: number, max: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  const list = (name: string, raw: string | undefined, allowed: readonly string[], fallback: readonly string[]): string[] => {
    const items = raw === undefined ? [...fallback] : raw.split(",").map((s) => s.trim());
    for (const i of items) if (!allowed.includes(i)) throw new Error(`--${name}: ${i} is not one of ${allowed.join(", ")}`);
    return items;
  };
  const concurrencies = (values.concurrency ?? "10,100").split(",").map((c) => int("concurrency", c, 10, 1, 1_000));
  const kinds = list("phases", values.phases, ["drain", "e2e", "latency", "delayed", "floor"], ["drain", "e2e", "latency", "delayed", "floor"]);
  const phases: Phase[] = [];
  for (const kind of kinds) {
    // The floor has no worker: one pair of rates, whatever the concurrencies.
    if (kind === "floor") phases.push({ kind, rate: 500 }, { kind, rate: 1_000 });
    else for (const concurrency of concurrencies) {
      if (kind === "drain" || kind === "e2e") phases.push({ kind, concurrency });
      else if (kind === "latency") phases.push({ kind, concurrency, rate: 500 }, { kind, concurrency, rate: 1_000 });
      else phases.push({ kind: "delayed", concurrency, rate: 200 });
    }
  }
  return {
    rounds: int("rounds", values.rounds, 3, 1, 50),
    jobs: int("jobs", values.jobs, 10_000, 100, 1_000_000),
    openSeconds: int("open-seconds", values["open-seconds"], 5, 1, 600),
    phases,
    systems: list("systems", values.systems, ["taskflow", "bullmq"], ["taskflow", "bullmq"]) as SystemName[],
  };
}

async function machine(redis: Redis, db: pg.Client) {
  const redisVersion = /^redis_version:(\S+)/m.exec(await redis.info("server"))?.[1];
  const pgVersion = (await db.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v;
  return { cpus: cpus().length, cpu_model: cpus()[0]?.model, memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version, redis: redisVersion, postgres: pgVersion };
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const redis = new Redis(testRedisUrl());
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  const pm = await postmasterPid(admin);
  const host = await machine(redis, admin);
  await admin.end();
  console.log(`taskflow bench: ${o.rounds} rounds, ${o.jobs} jobs per throughput phase, ${o.openSeconds} s per open-loop phase; ${JSON.stringify(host)}`);
  const tally = new Tally();
  try {
    for (let round = 1; round <= o.rounds; round++) {
      // A fresh TaskFlow stack (database, key prefix) and BullMQ prefix each round.
      const systems: SystemUnderTest[] = [];
      try {
        for (const name of o.systems) systems.push(name === "taskflow" ? await startTaskFlow() : startBullMq());
        for (const [i, phase] of o.phases.entries()) {
          for (const sys of systems) {
            const outcome = await runPhase(sys, phase, { jobs: o.jobs, openSeconds: o.openSeconds, queue: `r${round}.p${i}`, redis, postmasterPid: pm });
            tally.add(sys.name, outcome);
            console.log(`round ${round} ${phaseName(phase)} ${sys.name}: ${JSON.stringify(outcome.metrics)}`);
          }
        }
      } finally {
        for (const sys of systems) await sys.close();
      }
    }
  } finally {
    redis.disconnect();
  }
  console.log(`\n${tally.table()}\n`);
  const { spreads, ratios, cpuMsPer1kJobs } = tally.summary();
  console.log(
    JSON.stringify({
      bench: "taskflow_vs_bullmq",
      date: new Date().toISOString(),
      machine: host,
      rounds: o.rounds,
      jobs: o.jobs,
      open_seconds: o.openSeconds,
      spreads,
      cpu_ms_per_1k_jobs: cpuMsPer1kJobs,
      ratios,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
