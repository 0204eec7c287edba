#!/usr/bin/env node
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { APP_DIR, startDashboardServer } from "@taskflow/dashboard";
import { HISTORY_DEFAULTS, startHistory } from "@taskflow/history";
import { testDatabaseAdminUrl } from "@taskflow/testkit";
import { chromium } from "playwright-core";
import { pino } from "pino";
import { createBenchDatabase, prepareSchema } from "./bench-database.js";
import { QUEUES } from "./catalog.js";
import { type LoadPlan, timeline } from "./generate-jobs.js";
import { loadHistory } from "./load-history.js";
import { summarize } from "../percentiles.js";
import { Random } from "./random.js";
import { sampleFacts } from "./sample-facts.js";
import { VOCABULARY } from "./vocabulary.js";

const USAGE = `pnpm bench:dashboard [--jobs N] [--days N] [--iterations N] [--seed N] [--keep]

Loads the history of pnpm bench:history (N jobs, default 1,000,000, over D days, default 10)
into a fresh database, starts the history service and the dashboard server in this process,
and opens the Jobs page in Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium) with
one filter after another: each visit is a whole page load, timed by the browser's clock from
navigation start to the frame that paints the first page of results. Prints p50/p95/max per
filter against the 300 ms target; the last line is one JSON object. BENCH_DASHBOARD_DEBUG=1
prints each visit's timings (page, scripts, ListJobs).`;

const TARGET_MS = 300;
const HOUR_MS = 3_600_000;

/** The Jobs page's filters measured, each as the URL an operator would open. */
function filters(rng: Random, deepType: string, endMs: number): { name: string; query: () => string }[] {
  const q = (params: Record<string, string>) => new URLSearchParams(params).toString();
  return [
    { name: "failed_of_type", query: () => q({ status: "failed", type: deepType }) },
    {
      name: "queue_in_hour",
      query: () => {
        const from = Math.floor((endMs - rng.int(2, 200) * HOUR_MS) / HOUR_MS) * HOUR_MS;
        return q({ queue: rng.pick(QUEUES), from: new Date(from).toISOString(), to: new Date(from + HOUR_MS).toISOString() });
      },
    },
    { name: "full_text_two_words", query: () => q({ text: `${VOCABULARY[rng.int(0, 99)]} ${VOCABULARY[rng.int(100, 199)]}` }) },
    { name: "payload_contains", query: () => q({ payload: JSON.stringify({ customer_id: rng.int(1, 50) }) }) },
    { name: "completed_oldest_first", query: () => q({ status: "completed", order: "oldest" }) },
    { name: "attempts_at_least", query: () => q({ attempts: "3" }) },
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { jobs: { type: "string" }, days: { type: "string" }, iterations: { type: "string" }, seed: { type: "string" }, keep: { type: "boolean" }, help: { type: "boolean" } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const int = (raw: string | undefined, def: number) => (raw === undefined ? def : Number.parseInt(raw, 10));
  const plan: LoadPlan = { seed: int(values.seed, 1), jobs: int(values.jobs, 1_000_000), days: int(values.days, 10), endMs: Date.now() };
  const iterations = int(values.iterations, 20);
  const tl = timeline(plan);
  console.log(`taskflow bench:dashboard: ${plan.jobs} jobs over ${plan.days} days, seed ${plan.seed}, ${iterations} page loads per filter`);
  const db = await createBenchDatabase(testDatabaseAdminUrl());
  const closers: (() => Promise<unknown>)[] = [];
  try {
    await prepareSchema(db.url, plan);
    const load = await loadHistory(db.url, plan, { streams: 1, onProgress: (n) => console.log(`loading: ${n} jobs`) });
    console.log(`loaded ${load.jobs} jobs in ${load.seconds.toFixed(1)} s`);
    const rng = new Random(plan.seed, 0x64617368); // "dash"
    const facts = await sampleFacts(db.url, tl, rng, 10);
    const history = await startHistory({
      ...HISTORY_DEFAULTS,
      port: 0,
      internalPort: 0,
      databaseUrl: db.url,
      pageTokenSecret: randomBytes(24).toString("hex"),
      retentionDays: 0,
      logLevel: "warn",
    });
    closers.push(() => history.close());
    const silent = pino({ level: "silent" });
    // No scheduler: the Jobs page calls history alone, with no token (authentication off).
    const dashboard = await startDashboardServer(
      { host: "127.0.0.1", port: 0, schedulerUrl: "http://127.0.0.1:9", historyUrl: history.url, schedulerCaFile: "", historyCaFile: "", logLevel: "silent", tls: { certFile: "", keyFile: "" } },
      APP_DIR,
      silent,
    );
    closers.push(() => dashboard.close());
    const browser = await chromium.launch({
      executablePath: process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    closers.push(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: dashboard.url });
    // Notes, in the page, the first frame that shows the results: when they enter the document,
    // then the next animation frame (the paint).
    await context.addInitScript(`new MutationObserver((_, observer) => {
      if (document.querySelector(${JSON.stringify(`${RESULTS}, ${EMPTY}`)}) === null) return;
      observer.disconnect();
      requestAnimationFrame(() => { window.__resultsShownAt = performance.now(); });
    }).observe(document, { subtree: true, childList: true });`);
    const page = await context.newPage();
    // One untimed load fills the browser's cache with the page's script, as for a returning operator.
    await page.goto("/jobs");
    await page.locator(RESULTS).first().waitFor();

    const results: { name: string; p50: number; p95: number; max: number; met: boolean }[] = [];
    for (const f of filters(rng, facts.deepTypes[0] ?? "report.build", tl.endMs)) {
      const times: number[] = [];
      for (let i = 0; i < iterations; i++) {
        await page.goto(`/jobs?${f.query()}`);
        // A function, not a string: the page's policy allows no eval.
        await page.waitForFunction(() => (globalThis as { __resultsShownAt?: number }).__resultsShownAt !== undefined);
        // performance.now() counts from the navigation's start, in the browser.
        const at = await page.evaluate<{ shown: number }>(TIMINGS);
        if (process.env["BENCH_DASHBOARD_DEBUG"] !== undefined) console.log(JSON.stringify(at));
        times.push(at.shown);
      }
      const s = summarize(times);
      const result = { name: f.name, p50: s.p50, p95: s.p95, max: s.max, met: s.p95 < TARGET_MS };
      console.log(`${f.name}: p50 ${result.p50} ms, p95 ${result.p95} ms, max ${result.max} ms ${result.met ? "" : "(over target)"}`);
      results.push(result);
    }
    console.log(JSON.stringify({ jobs: load.jobs, iterations, targetMs: TARGET_MS, results }));
  } finally {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    if (values.keep) console.log(`kept database ${db.url}`);
    else await db.drop();
  }
}

/**
 * Evaluated in the page once the results show: when they were painted, since the navigation began, and when
 * the page, its scripts and the ListJobs call were answered, and the pages' own marks (scripts
 * evaluated, first drawn) (for
 * BENCH_DASHBOARD_DEBUG). A string, as it runs in the browser, not in Node.
 */
const TIMINGS = `(() => {
  const resources = performance.getEntriesByType("resource");
  const ends = (match) => resources.filter((e) => e.name.includes(match)).map((e) => [Math.round(e.startTime), Math.round(e.responseEnd)]);
  const nav = performance.getEntriesByType("navigation")[0];
  const mark = (name) => Math.round(performance.getEntriesByName(name)[0]?.startTime ?? -1);
  return { shown: window.__resultsShownAt, html: Math.round(nav.responseEnd), scripts: ends("/assets/"), evaluated: mark("taskflow:scripts-evaluated"), drawn: mark("taskflow:first-drawn"), list: ends("ListJobs") };
})()`;

/** Rows of the Jobs page's results, and its answer when nothing matches. */
const RESULTS = "[data-job-id]";
const EMPTY = "[data-empty-results]";

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
