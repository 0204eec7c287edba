#!/usr/bin/env node
import { parseArgs } from "node:util";
import { createTaskFlowClient, type SubmitInput } from "@taskflow/client";
import { spawnTestStack } from "@taskflow/testkit";
import pg from "pg";
import { countCompleted, medianFigures, readFigures, type RunFigures } from "./measure.js";

const USAGE = `pnpm bench [--jobs N] [--runs N] [--batch N] [--submitters N] [--concurrency N] [--workers N]

Runs N no-op (echo) jobs end to end through history, scheduler and worker processes on a fresh
database and Redis key prefix, then prints throughput and latency percentiles per run and, as
the last line, the median of the runs as one JSON line.`;

interface Options {
  jobs: number;
  runs: number;
  batch: number;
  submitters: number;
  concurrency: number;
  workers: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      jobs: { type: "string", default: "20000" },
      runs: { type: "string", default: "3" },
      batch: { type: "string", default: "500" },
      submitters: { type: "string", default: "4" },
      concurrency: { type: "string", default: "200" },
      workers: { type: "string", default: "1" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name: keyof Options, max: number): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be an integer from 1 to ${max}`);
    return n;
  };
  return {
    jobs: int("jobs", 1_000_000),
    runs: int("runs", 20),
    batch: int("batch", 1000),
    submitters: int("submitters", 64),
    concurrency: int("concurrency", 10_000),
    workers: int("workers", 16),
  };
}

/** Submits `jobs` echo jobs in batches from several concurrent submitters; returns each call's ms. */
async function submitAll(client: ReturnType<typeof createTaskFlowClient>, o: Options): Promise<number[]> {
  const batches = Math.ceil(o.jobs / o.batch);
  const callsMs: number[] = [];
  let next = 0;
  const submitter = async () => {
    for (let b = next++; b < batches; b = next++) {
      const size = Math.min(o.batch, o.jobs - b * o.batch);
      const inputs: SubmitInput[] = Array.from({ length: size }, () => ({ type: "echo", payload: {} }));
      const t0 = performance.now();
      await client.submitMany(inputs);
      callsMs.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: o.submitters }, submitter));
  return callsMs;
}

/** Polls history until every job completed, within a bound that grows with the job count. */
async function waitForCompletion(db: pg.Client, jobs: number): Promise<void> {
  const deadline = Date.now() + 60_000 + jobs * 5;
  while ((await countCompleted(db)) < jobs) {
    if (Date.now() > deadline) throw new Error(`not every job completed before the deadline`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function runOnce(o: Options): Promise<RunFigures> {
  const stack = await spawnTestStack({
    history: { LOG_LEVEL: "info" },
    worker: { WORKER_CONCURRENCY: String(o.concurrency) },
  });
  const client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
  const db = new pg.Client({ connectionString: stack.db.url });
  try {
    for (let i = 1; i < o.workers; i++) await stack.addWorker({ WORKER_CONCURRENCY: String(o.concurrency) });
    await db.connect();
    const callsMs = await submitAll(client, o);
    await waitForCompletion(db, o.jobs);
    return await readFigures(db, callsMs);
  } finally {
    await db.end();
    await client.close();
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  console.log(`taskflow bench: ${o.jobs} echo jobs x ${o.runs} runs, batches of ${o.batch} from ${o.submitters} submitters, ${o.workers} worker(s) x concurrency ${o.concurrency}`);
  const runs: RunFigures[] = [];
  for (let i = 1; i <= o.runs; i++) {
    const figures = await runOnce(o);
    runs.push(figures);
    console.log(`run ${i}: ${JSON.stringify(figures)}`);
  }
  console.log(JSON.stringify({ bench: "end_to_end", median_of_runs: o.runs, ...medianFigures(runs) }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
