#!/usr/bin/env node
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HISTORY_DEFAULTS, startHistory } from "@taskflow/history";
import { HistoryIngestService } from "@taskflow/proto";
import { testDatabaseAdminUrl } from "@taskflow/testkit";
import pg from "pg";
import { createBenchDatabase, prepareSchema } from "./bench-database.js";
import { generateJobs, type LoadPlan } from "./generate-jobs.js";
import {
  backendCpu,
  backendCpuSpent,
  countersSpent,
  disableAutovacuum,
  settledCounters,
  type TableCounters,
  walBytes,
} from "./ingest-cost.js";
import { type AppendRequest, appendRequests, type EventMode, type InsertRequest, insertRequests } from "./ingest-requests.js";

const USAGE = `pnpm bench:history-ingest [--jobs N] [--batch N] [--max-events N] [--mode together|apart]
                          [--seed N] [--keep]

Measures what history's write path costs PostgreSQL. Makes a fresh database
(taskflow_bench_ingest_<random>, on TEST_DATABASE_URL's server), starts history on it in this
process, and sends N jobs (default 20,000; the bench:history generator's jobs, created over the
last day) through the real ingest RPCs, one call at a time: InsertJobs of --batch jobs (default
500), then AppendEvents with every later transition of the jobs (started, then completed,
failed, cancelled or retry_scheduled; at most --max-events per call, default 500). --mode
together (default) sends a job's transitions in one call; apart sends every job's started, then
every job's end. Then VACUUM of jobs and job_events, the clean-up those writes leave.

For each phase it prints PostgreSQL CPU (of the database's backends, from /proc: PostgreSQL must
run on this machine) in ms per job, the rows written, the share of jobs row updates that were
HOT, index and heap bytes added per job, and WAL bytes per job (the whole server's WAL: noisy
when other databases are busy). Autovacuum is off on the partitions, so it cannot run unmeasured
mid-phase. The last line is one JSON object.`;

interface Options {
  jobs: number;
  batch: number;
  maxEvents: number;
  mode: EventMode;
  seed: number;
  keep: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      jobs: { type: "string" },
      batch: { type: "string" },
      "max-events": { type: "string" },
      mode: { type: "string" },
      seed: { type: "string" },
      keep: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (raw: string | undefined, name: string, min: number, max: number, def: number): number => {
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  const mode = values.mode ?? "together";
  if (mode !== "together" && mode !== "apart") throw new Error("--mode must be together or apart");
  return {
    jobs: int(values.jobs, "jobs", 1, 2_000_000, 20_000),
    batch: int(values.batch, "batch", 1, 10_000, 500),
    maxEvents: int(values["max-events"], "max-events", 1, 10_000, 500),
    mode,
    seed: int(values.seed, "seed", 0, 0xffff_ffff, 1),
    keep: values.keep ?? false,
  };
}

/** What one phase cost. */
interface PhaseCost {
  phase: string;
  calls: number;
  seconds: number;
  pgCpuMs: number;
  /** Backends that ended during the phase: their CPU is missing from pgCpuMs. */
  lostBackends: number;
  counters: TableCounters;
  walBytes: number;
}

/** What a phase is measured with: a connection to the server, one to the bench database, its name. */
interface Meters {
  admin: pg.Client;
  db: pg.Client;
  dbName: string;
}

/** Runs `work` and measures it: the database's backend CPU, its row counters and the WAL. */
async function measure(
  phase: string,
  m: Meters,
  work: () => Promise<number>,
  expect: { jobsInserted: number; eventsInserted: number } = { jobsInserted: 0, eventsInserted: 0 },
): Promise<PhaseCost> {
  const { admin, db, dbName } = m;
  const counters0 = await settledCounters(db);
  const wal0 = await walBytes(admin);
  const cpu0 = await backendCpu(admin, dbName);
  const started = performance.now();
  const calls = await work();
  const seconds = (performance.now() - started) / 1000;
  const cpu = backendCpuSpent(cpu0, await backendCpu(admin, dbName));
  const wal = (await walBytes(admin)) - wal0;
  const done = (c: TableCounters) =>
    c.jobsInserted - counters0.jobsInserted >= expect.jobsInserted && c.eventsInserted - counters0.eventsInserted >= expect.eventsInserted;
  const counters = countersSpent(counters0, await settledCounters(db, done));
  return { phase, calls, seconds, pgCpuMs: cpu.ms, lostBackends: cpu.lost, counters, walBytes: wal };
}

function formatPhase(c: PhaseCost, jobs: number): string {
  const per = (n: number, digits = 3) => (n / jobs).toFixed(digits);
  const k = c.counters;
  const hot = k.jobsUpdated === 0 ? "-" : `${((100 * k.jobsHotUpdated) / k.jobsUpdated).toFixed(1)} %`;
  return [
    `${c.phase}: ${c.calls} calls in ${c.seconds.toFixed(1)} s`,
    `  PostgreSQL CPU ${c.pgCpuMs.toFixed(0)} ms = ${per(c.pgCpuMs)} ms per job${c.lostBackends > 0 ? ` (${c.lostBackends} backends ended: a floor)` : ""}`,
    `  jobs rows: ${k.jobsInserted} inserted, ${k.jobsUpdated} updated (${per(k.jobsUpdated, 2)} per job), HOT ${hot}; events inserted ${k.eventsInserted}`,
    `  bytes per job: index ${per(k.indexBytes, 0)}, heap ${per(k.heapBytes, 0)}, WAL ${per(c.walBytes, 0)} (whole server)`,
  ].join("\n");
}

/** Starts history on the bench database and sends the jobs through it: the insert and events phases. */
async function ingestPhases(url: string, m: Meters, inserts: InsertRequest[], appends: AppendRequest[], jobs: number): Promise<PhaseCost[]> {
  const history = await startHistory({ ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: url, pageTokenSecret: randomBytes(24).toString("hex"), retentionDays: 0, logLevel: "warn" });
  try {
    const client = createClient(HistoryIngestService, createGrpcTransport({ baseUrl: history.internalUrl }));
    await sleep(1_000); // the loops' first runs at start-up
    const events = appends.reduce((n, r) => n + (r.events?.length ?? 0), 0);
    const insert = await measure("insert", m, async () => {
      for (const req of inserts) await client.insertJobs(req);
      return inserts.length;
    }, { jobsInserted: jobs, eventsInserted: jobs });
    const append = await measure("events", m, async () => {
      for (const req of appends) await client.appendEvents(req);
      return appends.length;
    }, { jobsInserted: 0, eventsInserted: events });
    return [insert, append];
  } finally {
    await history.close();
  }
}

/** VACUUM of both tables on a connection of its own, open until the phase is measured so its CPU counts. */
async function vacuumPhase(url: string, m: Meters): Promise<PhaseCost> {
  const vacuum = new pg.Client({ connectionString: url, application_name: "taskflow-bench-ingest-vacuum" });
  await vacuum.connect();
  try {
    return await measure("vacuum", m, async () => {
      await vacuum.query("VACUUM jobs, job_events");
      return 1;
    });
  } finally {
    await vacuum.end();
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const plan: LoadPlan = { seed: o.seed, jobs: o.jobs, days: 1, endMs: Date.now() };
  const jobs = [...generateJobs(plan)];
  const inserts = insertRequests(jobs, o.batch);
  const appends = appendRequests(jobs, o.batch, o.maxEvents, o.mode);
  console.log(`taskflow bench:history-ingest: ${o.jobs} jobs, ${inserts.length} InsertJobs and ${appends.length} AppendEvents calls (${o.mode}), seed ${o.seed}`);
  const adminUrl = testDatabaseAdminUrl();
  const bench = await createBenchDatabase(adminUrl, "taskflow_bench_ingest");
  console.log(`database ${bench.name}`);
  const admin = new pg.Client({ connectionString: adminUrl, application_name: "taskflow-bench-ingest" });
  const db = new pg.Client({ connectionString: bench.url, application_name: "taskflow-bench-ingest" });
  try {
    await prepareSchema(bench.url, plan);
    await Promise.all([admin.connect(), db.connect()]);
    await disableAutovacuum(db);
    const meters: Meters = { admin, db, dbName: bench.name };
    const phases = [...(await ingestPhases(bench.url, meters, inserts, appends, jobs.length)), await vacuumPhase(bench.url, meters)];
    for (const p of phases) console.log(formatPhase(p, o.jobs));
    const total = phases.reduce((sum, p) => sum + p.pgCpuMs, 0);
    console.log(`total PostgreSQL CPU ${(total / o.jobs).toFixed(3)} ms per job`);
    console.log(JSON.stringify({ jobs: o.jobs, batch: o.batch, maxEvents: o.maxEvents, mode: o.mode, seed: o.seed, pgCpuMsPerJob: total / o.jobs, phases }));
  } finally {
    await Promise.all([admin.end(), db.end()]);
    if (o.keep) console.log(`kept database ${bench.url}`);
    else await bench.drop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
