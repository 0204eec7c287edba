#!/usr/bin/env node
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HISTORY_DEFAULTS, startHistory } from "@taskflow/history";
import { HistoryService } from "@taskflow/proto";
import { testDatabaseAdminUrl } from "@taskflow/testkit";
import { createBenchDatabase, prepareSchema } from "./bench-database.js";
import { explainShape } from "./explain-plans.js";
import { type LoadPlan, timeline } from "./generate-jobs.js";
import { loadHistory } from "./load-history.js";
import { measureShape, type ShapeResult } from "./measure-shapes.js";
import { Random } from "./random.js";
import { formatTable, summaryLine } from "./report.js";
import { sampleFacts } from "./sample-facts.js";
import type { ShapeContext } from "./shape.js";
import { SHAPES, selectShapes } from "./shapes.js";

const USAGE = `pnpm bench:history [--jobs N] [--days N] [--iterations N] [--seed N] [--streams N]
                   [--shapes a,b,...] [--explain] [--keep]

Loads N jobs (default 1,000,000) created over the last D days (default 10), three events each,
into a fresh database (taskflow_bench_history_<random>, on TEST_DATABASE_URL's server) with
COPY, then starts the history service in this process and times each query shape through the
gRPC Connect client (HTTP/2): warm-up calls, then --iterations (default 200) calls one after
another with parameters drawn from the data. Prints p50/p95/p99/max per shape against its p99
target (lists and searches 50 ms, stats over a day 250 ms); the last line is one JSON object.

  --seed N      the data and the requests' parameters (default 1)
  --streams N   job ranges loaded side by side, two COPY connections each (default 1)
  --shapes      only these shapes: ${SHAPES.map((s) => s.name).join(", ")}
  --explain     print the plan of each shape's SQL, captured as the service runs it
  --keep        keep the database (its URL is printed) instead of dropping it`;

interface Options {
  jobs: number;
  days: number;
  iterations: number;
  seed: number;
  streams: number;
  shapes: string[];
  explain: boolean;
  keep: boolean;
}

function parseOptions(argv: string[]): Options {
  const string = { type: "string" } as const;
  const { values } = parseArgs({
    args: argv,
    options: {
      jobs: string,
      days: string,
      iterations: string,
      seed: string,
      streams: string,
      shapes: string,
      explain: { type: "boolean" },
      keep: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name: "jobs" | "days" | "iterations" | "seed" | "streams", min: number, max: number, def: number): number => {
    const raw = values[name];
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  const shapes = values.shapes === undefined ? [] : values.shapes.split(",").filter((s) => s !== "");
  selectShapes(shapes);
  return {
    jobs: int("jobs", 1, 20_000_000, 1_000_000),
    days: int("days", 1, 366, 10),
    iterations: int("iterations", 1, 100_000, 200),
    seed: int("seed", 0, 0xffff_ffff, 1),
    streams: int("streams", 1, 8, 1),
    shapes,
    explain: values.explain ?? false,
    keep: values.keep ?? false,
  };
}

/** Starts history on the loaded database and measures (and explains) the chosen shapes. */
async function measureAll(url: string, plan: LoadPlan, o: Options, signal: AbortSignal): Promise<ShapeResult[]> {
  const rng = new Random(plan.seed, 0x7368_6170); // "shap": a stream of its own, apart from the data's blocks
  const tl = timeline(plan);
  const facts = await sampleFacts(url, tl, rng, 1_000);
  const history = await startHistory({
    ...HISTORY_DEFAULTS,
    port: 0,
    internalPort: 0,
    databaseUrl: url,
    pageTokenSecret: randomBytes(24).toString("hex"),
    retentionDays: 0,
    logLevel: "warn",
  });
  try {
    const client = createClient(HistoryService, createGrpcTransport({ baseUrl: history.url }));
    const ctx: ShapeContext = { client, rng, plan, tl, facts };
    const results: ShapeResult[] = [];
    for (const shape of selectShapes(o.shapes)) {
      const result = await measureShape(shape, ctx, o.iterations, signal);
      console.log("summary" in result ? `${result.name}: p99 ${result.summary.p99} ms` : `${result.name}: unavailable (${result.unavailable})`);
      results.push(result);
    }
    if (o.explain) await printPlans(url, results);
    return results;
  } finally {
    await history.close();
  }
}

async function printPlans(url: string, results: readonly ShapeResult[]): Promise<void> {
  for (const r of results) {
    if (!("probe" in r)) continue;
    for (const e of await explainShape(url, r.probe)) {
      const values = JSON.stringify(e.statement.values, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
      console.log(`\n=== ${r.name}: ${e.method}\n--- parameters: ${values}\n${e.plan}`);
    }
  }
  console.log("");
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const abort = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => abort.abort(new Error(`stopped by ${signal}`)));
  const plan: LoadPlan = { seed: o.seed, jobs: o.jobs, days: o.days, endMs: Date.now() };
  timeline(plan); // refuses an impossible plan before a database is made for it
  console.log(`taskflow bench:history: ${o.jobs} jobs over ${o.days} days, seed ${o.seed}, ${o.iterations} calls per shape`);
  const db = await createBenchDatabase(testDatabaseAdminUrl());
  console.log(`database ${db.name}`);
  try {
    await prepareSchema(db.url, plan);
    const load = await loadHistory(db.url, plan, {
      streams: o.streams,
      signal: abort.signal,
      onProgress: (n) => console.log(`loading: ${n} jobs`),
    });
    const rows = load.jobs + load.events;
    console.log(`loaded ${load.jobs} jobs, ${load.events} events and ${load.workers} workers in ${load.seconds.toFixed(1)} s (${Math.round(rows / load.seconds)} rows/s, VACUUM ANALYZE included)`);
    const results = await measureAll(db.url, plan, o, abort.signal);
    console.log(formatTable(results));
    console.log(summaryLine({ jobs: load.jobs, events: load.events, days: o.days, seed: o.seed, iterations: o.iterations, loadS: load.seconds }, results));
  } finally {
    if (o.keep) console.log(`kept database ${db.url}`);
    else await db.drop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
