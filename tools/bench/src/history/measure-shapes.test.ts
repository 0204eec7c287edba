import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HISTORY_DEFAULTS, type RunningHistory, startHistory } from "@taskflow/history";
import { HistoryService, SchedulerService } from "@taskflow/proto";
import { testDatabaseAdminUrl } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BenchDatabase, createBenchDatabase, prepareSchema } from "./bench-database.js";
import { explainShape } from "./explain-plans.js";
import { type LoadPlan, timeline } from "./generate-jobs.js";
import { loadHistory } from "./load-history.js";
import { measureShape, type ShapeResult, warmupCalls } from "./measure-shapes.js";
import { Random } from "./random.js";
import { sampleFacts } from "./sample-facts.js";
import { defineShape, type ShapeContext } from "./shape.js";
import { SHAPES, selectShapes } from "./shapes.js";

describe("measureShape against a running history service", () => {
  const plan: LoadPlan = { seed: 5, jobs: 5_000, days: 2, endMs: Date.now() };
  let db: BenchDatabase;
  let history: RunningHistory;
  let ctx: ShapeContext;

  beforeAll(async () => {
    db = await createBenchDatabase(testDatabaseAdminUrl());
    await prepareSchema(db.url, plan);
    await loadHistory(db.url, plan, { streams: 1 });
    history = await startHistory({
      ...HISTORY_DEFAULTS,
      port: 0,
      internalPort: 0,
      databaseUrl: db.url,
      pageTokenSecret: randomBytes(16).toString("hex"),
      retentionDays: 0,
      logLevel: "silent",
    });
    const tl = timeline(plan);
    const rng = new Random(plan.seed, 1);
    const client = createClient(HistoryService, createGrpcTransport({ baseUrl: history.url }));
    ctx = { client, rng, plan, tl, facts: await sampleFacts(db.url, tl, rng, 50) };
  });
  afterAll(async () => {
    await history?.close();
    await db?.drop();
  });

  const measured = (r: ShapeResult) => {
    if (!("summary" in r)) throw new Error(`${r.name} unavailable: ${r.unavailable}`);
    return r;
  };

  it("times the requested number of calls and judges p99 against the target", async () => {
    const r = measured(await measureShape(selectShapes(["get_job"])[0]!, ctx, 12));
    expect(r.summary.count).toBe(12);
    expect(r.summary.p50).toBeGreaterThan(0);
    expect(r.summary.p50).toBeLessThanOrEqual(r.summary.p99);
    expect(r.summary.p99).toBeLessThanOrEqual(r.summary.max);
    expect(r.met).toBe(r.summary.p99 < r.targetMs);
  });

  it("reports an RPC the server does not implement as unavailable", async () => {
    const scheduler = createClient(SchedulerService, createGrpcTransport({ baseUrl: history.url }));
    const shape = defineShape<number, unknown>({
      name: "not_served",
      targetMs: 50,
      requests: (_c, n) => Promise.resolve(Array.from({ length: n }, () => 1)),
      send: () => scheduler.cancelJob({ id: "01890000-0000-7000-8000-000000000000" }),
      check: () => undefined,
    });
    expect(await measureShape(shape, ctx, 3)).toEqual({ name: "not_served", targetMs: 50, unavailable: "unimplemented" });
  });

  it("reports an answer that ignores the request as unavailable, naming the problem", async () => {
    let calls = 0;
    const shape = defineShape<string, unknown>({
      name: "filter_ignored",
      targetMs: 50,
      requests: (_c, n) => Promise.resolve(Array.from({ length: n }, () => "x")),
      send: (client) => {
        calls += 1;
        return client.listWorkers({});
      },
      check: () => "worker wk-1 is not in the filter",
    });
    expect(await measureShape(shape, ctx, 3)).toMatchObject({ unavailable: "answer does not match the request: worker wk-1 is not in the filter" });
    expect(calls).toBe(1);
  });

  it("throws a fault of the bench itself instead of hiding it", async () => {
    const shape = defineShape<string, unknown>({
      name: "broken",
      targetMs: 50,
      requests: (_c, n) => Promise.resolve(Array.from({ length: n }, () => "x")),
      send: () => Promise.reject(new TypeError("bench bug")),
      check: () => undefined,
    });
    await expect(measureShape(shape, ctx, 3)).rejects.toThrow("bench bug");
  });

  it("keeps a service error other than unimplemented as the reason", async () => {
    const shape = defineShape<string, unknown>({
      name: "bad_page_size",
      targetMs: 50,
      requests: (_c, n) => Promise.resolve(Array.from({ length: n }, () => "x")),
      send: (client) => client.listJobs({ pageSize: 100_000 }),
      check: () => undefined,
    });
    const r = await measureShape(shape, ctx, 3);
    expect(r).toMatchObject({ name: "bad_page_size" });
    expect("unavailable" in r && r.unavailable).toMatch(/^InvalidArgument: page_size/);
  });

  it("runs every shape to a figure or a reason, the long-served ones to figures", async () => {
    const results: ShapeResult[] = [];
    for (const shape of SHAPES) results.push(await measureShape(shape, ctx, 3));
    expect(results.map((r) => r.name)).toEqual(SHAPES.map((s) => s.name));
    for (const r of results) {
      if ("summary" in r) expect(r.summary.count).toBe(3);
      else expect(r.unavailable).not.toBe("");
    }
    for (const name of ["list_status_type_p1", "workers_list", "get_job"]) expect(measured(results.find((r) => r.name === name)!).summary.count).toBe(3);
    // 5,000 jobs hold nowhere near 50 pages of failed jobs of one type.
    expect(results.find((r) => r.name === "list_status_type_p50")).toMatchObject({ unavailable: "no type has 50 pages of failed jobs" });
  });

  it("explains the statement the service ran for a shape", async () => {
    const r = measured(await measureShape(selectShapes(["get_job"])[0]!, ctx, 1));
    const explained = await explainShape(db.url, r.probe);
    expect(explained.length).toBeGreaterThanOrEqual(1);
    const lookup = explained.find((e) => /FROM jobs/.test(e.statement.text));
    expect(lookup?.statement.values).toHaveLength(1);
    expect(lookup?.plan).toMatch(/Index (Only )?Scan using jobs_p\d{8}_pkey/);
    expect(lookup?.plan).toMatch(/actual time=/);
    expect(lookup?.plan).not.toMatch(/cost=/);
  });

  it("warms up with a tenth of the calls, at least five", () => {
    expect([warmupCalls(1), warmupCalls(50), warmupCalls(200), warmupCalls(1_001)]).toEqual([5, 5, 20, 101]);
  });
});
