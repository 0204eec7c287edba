#!/usr/bin/env node
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { testRedisUrl } from "@taskflow/testkit";
import { Redis } from "ioredis";
import { postmasterPid } from "./cpu.js";
import { callersOf, selfTimes, type CpuProfile } from "./cpu-profile.js";
import { phaseName, runPhase, type Phase } from "./phases.js";
import { startTaskFlow } from "./systems.js";
import { formatTable } from "./tally.js";

const USAGE = `pnpm bench:profile [--service scheduler|history|worker|producer] [--phase e2e|drain|latency|delayed]
                   [--concurrency N] [--jobs N] [--rate N] [--top N] [--callers FUNCTION]

Runs one bench phase on TaskFlow (see pnpm bench) with one process under node --cpu-prof, then
prints where that process spent its CPU: per package and the top functions by self time, and
with --callers, the call paths that spent self time in one function (e.g. writeUtf8String).
Defaults: --service scheduler --phase e2e --concurrency 100 --jobs 10000 --rate 1000 --top 30.`;

const SERVICES = ["scheduler", "history", "worker", "producer"] as const;
const PHASES = ["drain", "e2e", "latency", "delayed"] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      service: { type: "string", default: "scheduler" },
      phase: { type: "string", default: "e2e" },
      concurrency: { type: "string", default: "100" },
      jobs: { type: "string", default: "10000" },
      rate: { type: "string", default: "1000" },
      top: { type: "string", default: "30" },
      callers: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return console.log(USAGE);
  const service = values.service as (typeof SERVICES)[number];
  const kind = values.phase as (typeof PHASES)[number];
  if (!SERVICES.includes(service)) throw new Error(`--service must be one of ${SERVICES.join(", ")}`);
  if (!PHASES.includes(kind)) throw new Error(`--phase must be one of ${PHASES.join(", ")}`);
  const concurrency = Number(values.concurrency);
  const rate = Number(values.rate);
  const phase: Phase = kind === "latency" || kind === "delayed" ? { kind, concurrency, rate } : { kind, concurrency };

  const dir = await mkdtemp(join(tmpdir(), "taskflow-profile-"));
  const flags = ["--cpu-prof", `--cpu-prof-dir=${dir}`];
  const sys = await startTaskFlow({
    scheduler: service === "scheduler" ? flags : undefined,
    history: service === "history" ? flags : undefined,
  });
  const redis = new Redis(testRedisUrl());
  try {
    const outcome = await runPhase(sys, phase, {
      jobs: Number(values.jobs),
      openSeconds: 5,
      queue: "profile",
      redis,
      postmasterPid: await postmasterPid(sys.db),
      children: service === "worker" ? { worker: { execArgv: flags } } : service === "producer" ? { producer: { execArgv: flags } } : undefined,
    });
    console.log(`${phaseName(phase)}: ${JSON.stringify(outcome.metrics)}`);
    console.log(`CPU ms per 1,000 jobs: ${JSON.stringify(outcome.cpu)}`);
  } finally {
    redis.disconnect();
    // The services write their profiles as they exit.
    await sys.close();
  }
  const files = (await readdir(dir)).filter((f) => f.endsWith(".cpuprofile"));
  if (files.length === 0) throw new Error(`no profile was written to ${dir}`);
  const profile = JSON.parse(await readFile(join(dir, files.sort().at(-1)!), "utf8")) as CpuProfile;
  const t = selfTimes(profile);
  const top = Number(values.top);
  console.log(`\n${service} during ${phaseName(phase)}: busy ${t.busyMs} ms, idle ${t.idleMs} ms (whole process life)\n`);
  console.log(formatTable([["package", "self ms", "%"], ...t.packages.slice(0, 15).map((p) => [p.name, String(p.ms), String(p.pct)])]));
  console.log();
  console.log(formatTable([["function", "self ms", "%"], ...t.functions.slice(0, top).map((f) => [f.name, String(f.ms), String(f.pct)])]));
  if (values.callers !== undefined) {
    console.log(`\ncall paths into ${values.callers}:`);
    for (const c of callersOf(profile, values.callers).slice(0, 10)) console.log(`${String(c.ms).padStart(6)} ms  ${c.path}`);
  }
  await rm(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
