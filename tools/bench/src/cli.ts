#!/usr/bin/env node
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { createTaskFlowClient, type SubmitInput, type TaskFlowClient } from "@taskflow/client";
import { spawnTestStack } from "@taskflow/testkit";
import pg from "pg";
import { countCompleted, medianFigures, readFigures, type RunFigures } from "./measure.js";

const USAGE = `pnpm bench [--jobs N] [--rate N] [--batch N] [--runs N] [--submitters N] [--concurrency N] [--workers N]

Runs no-op (echo) jobs end to end through history, scheduler and worker processes, each run on
a fresh database and Redis key prefix, and prints throughput and latency percentiles per run.

Without --rate, two scenarios run side by side: "saturated" submits 20,000 jobs in batches of
500 as fast as 4 submitters can (throughput; its latencies include the backlog), and "paced"
offers 1,000 jobs/s in batches of 20 for 5,000 jobs (latency below saturation). --rate N runs one
scenario paced at N jobs/s (0: as fast as possible). The other options override the scenarios'
values. The last line is one JSON object with each scenario's median over the runs.`;

/** One way of loading the system. */
interface Scenario {
  name: string;
  jobs: number;
  /** Jobs offered per second; 0 submits as fast as the submitters can. */
  rate: number;
  batch: number;
  submitters: number;
}

interface Options {
  scenarios: Scenario[];
  runs: number;
  /** Worker processes, each running this many jobs at once. */
  workers: number;
  concurrency: number;
}

type NumericOption = "jobs" | "rate" | "batch" | "runs" | "submitters" | "concurrency" | "workers";

const SATURATED: Scenario = { name: "saturated", jobs: 20_000, rate: 0, batch: 500, submitters: 4 };
const PACED: Scenario = { name: "paced", jobs: 5_000, rate: 1_000, batch: 20, submitters: 4 };

function parseOptions(argv: string[]): Options {
  const string = { type: "string" } as const;
  const { values } = parseArgs({
    args: argv,
    options: {
      jobs: string,
      rate: string,
      batch: string,
      runs: string,
      submitters: string,
      concurrency: string,
      workers: string,
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name: NumericOption, min: number, max: number): number | undefined => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  const rate = int("rate", 0, 1_000_000);
  const overrides = {
    ...defined("jobs", int("jobs", 1, 1_000_000)),
    ...defined("batch", int("batch", 1, 1_000)),
    ...defined("submitters", int("submitters", 1, 64)),
  };
  const base = rate === undefined ? [SATURATED, PACED] : [{ ...SATURATED, name: `rate-${rate}`, rate }];
  return {
    scenarios: base.map((s) => ({ ...s, ...overrides })),
    runs: int("runs", 1, 20) ?? 3,
    workers: int("workers", 1, 16) ?? 1,
    concurrency: int("concurrency", 1, 1_000) ?? 200,
  };
}

const defined = <K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> =>
  value === undefined ? {} : ({ [key]: value } as Record<K, number>);

/**
 * Submits the scenario's jobs in batches from concurrent submitters; a paced scenario starts
 * batch b no earlier than b * batch / rate seconds in. Returns each SubmitJobs call's ms.
 */
async function submitAll(client: TaskFlowClient, s: Scenario): Promise<number[]> {
  const batches = Math.ceil(s.jobs / s.batch);
  const callsMs: number[] = [];
  const start = performance.now();
  let next = 0;
  const submitter = async () => {
    for (let b = next++; b < batches; b = next++) {
      if (s.rate > 0) await sleep(Math.max(0, start + (b * s.batch * 1000) / s.rate - performance.now()));
      const size = Math.min(s.batch, s.jobs - b * s.batch);
      const inputs: SubmitInput[] = Array.from({ length: size }, () => ({ type: "echo", payload: {} }));
      const t0 = performance.now();
      await client.submitMany(inputs);
      callsMs.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: s.submitters }, submitter));
  return callsMs;
}

/** Polls history until every job completed, within a bound that grows with the job count. */
async function waitForCompletion(db: pg.Client, jobs: number): Promise<void> {
  const deadline = Date.now() + 60_000 + jobs * 5;
  while ((await countCompleted(db)) < jobs) {
    if (Date.now() > deadline) throw new Error("not every job completed before the deadline");
    await sleep(100);
  }
}

async function runOnce(s: Scenario, o: Options): Promise<RunFigures> {
  const worker = { WORKER_CONCURRENCY: String(o.concurrency) };
  // One replica of each service, called directly (no balancer relaying in this process), as the
  // figures in the README were measured.
  const stack = await spawnTestStack({ worker, schedulers: 1, histories: 1, direct: true });
  const client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
  const db = new pg.Client({ connectionString: stack.db.url });
  try {
    for (let i = 1; i < o.workers; i++) await stack.addWorker(worker);
    await db.connect();
    const callsMs = await submitAll(client, s);
    await waitForCompletion(db, s.jobs);
    return await readFigures(db, callsMs);
  } finally {
    await db.end();
    await client.close();
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  console.log(`taskflow bench: ${o.runs} runs per scenario, ${o.workers} worker process(es) x concurrency ${o.concurrency}`);
  const medians: Record<string, RunFigures & Omit<Scenario, "name">> = {};
  // Runs alternate between scenarios so that a drift of the machine touches each alike.
  const results = new Map<string, RunFigures[]>(o.scenarios.map((s) => [s.name, []]));
  for (let i = 1; i <= o.runs; i++) {
    for (const s of o.scenarios) {
      const figures = await runOnce(s, o);
      results.get(s.name)!.push(figures);
      console.log(`${s.name} run ${i}: ${JSON.stringify(figures)}`);
    }
  }
  for (const { name, ...scenario } of o.scenarios) medians[name] = { ...scenario, ...medianFigures(results.get(name)!) };
  console.log(JSON.stringify({ bench: "end_to_end", runs: o.runs, workers: o.workers, concurrency: o.concurrency, ...medians }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
