import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createHistoryMetrics } from "@taskflow/history";
import { createSchedulerMetrics } from "@taskflow/scheduler";
import { createRpcMetricsInterceptor } from "@taskflow/service-kit";
import { createWorkerMetrics } from "@taskflow/worker";
import { describe, expect, it } from "vitest";
import { DEPLOY_DIR } from "./checks/deploy-paths.js";

interface Target {
  expr: string;
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { definition?: string }[] };
}

const dashboard = JSON.parse(readFileSync(join(DEPLOY_DIR, "grafana", "taskflow-dashboard.json"), "utf8")) as Dashboard;

/** Words of PromQL that are not metric names: aggregations' modifiers and binary operators. */
const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"]);

/**
 * The metric names a PromQL expression reads: identifiers left once label matchers, range
 * selectors, `by (...)` lists, strings and numbers are taken out, and not called as functions.
 * Grafana's `label_values(metric, label)` reads its first argument only.
 */
function metricNamesOf(expr: string): string[] {
  const stripped = expr
    .replace(/label_values\(([^,]*),[^)]*\)/g, "$1")
    .replace(/"(?:[^"\\]|\\.)*"/g, "")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = [...stripped.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\s*(\()?/g)]
    .filter((m) => m[2] === undefined && !KEYWORDS.has(m[1]!))
    .map((m) => m[1]!);
  return [...new Set(names)];
}

/** The sample names every service's registry exports, histograms with their `_bucket`, `_sum` and `_count`. */
async function exportedNames(): Promise<Set<string>> {
  const scheduler = createSchedulerMetrics(() => Promise.resolve({ nowMs: 0, queues: [], omitted: 0 }));
  const history = createHistoryMetrics({});
  const worker = createWorkerMetrics(() => ({ slots: 0, inFlight: 0 }));
  const registries = [scheduler.registry, history.registry, worker.registry];
  // startServer puts the RPC metrics on each served registry.
  for (const r of registries) createRpcMetricsInterceptor(r);
  const names = new Set<string>();
  for (const r of registries) {
    for (const m of await r.getMetricsAsJSON()) {
      const type = String(m.type);
      const suffixes = type === "histogram" ? ["_bucket", "_sum", "_count"] : type === "summary" ? ["", "_sum", "_count"] : [""];
      for (const s of suffixes) names.add(m.name + s);
    }
  }
  return names;
}

describe("deploy/grafana/taskflow-dashboard.json", () => {
  const panels = dashboard.panels.filter((p) => p.type !== "row");
  const exprs = [
    ...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ...dashboard.templating.list.flatMap((v) => (v.definition === undefined ? [] : [v.definition])),
  ];

  it("is a dashboard with a uid and panels that each query something", () => {
    expect(dashboard).toMatchObject({ uid: "taskflow-overview", title: "TaskFlow" });
    expect(panels.length).toBeGreaterThan(10);
    expect(panels.filter((p) => (p.targets ?? []).length === 0).map((p) => p.title)).toEqual([]);
  });

  it("reads only metrics the services export", async () => {
    const exported = await exportedNames();
    const used = [...new Set(exprs.flatMap(metricNamesOf))];
    expect(used.filter((n) => !exported.has(n))).toEqual([]);
    // The parser finds names at all: a regex that matched nothing would pass the line above.
    expect(used).toEqual(expect.arrayContaining(["grpc_server_handled_total", "taskflow_queue_jobs", "taskflow_worker_slots_busy"]));
  });

  it("finds metric names in PromQL, leaving out functions, labels and modifiers", () => {
    const expr = 'histogram_quantile(0.99, sum by (le, grpc_method) (rate(x_bucket{grpc_type="unary"}[$__rate_interval]))) / on (a) y';
    expect(metricNamesOf(expr)).toEqual(["x_bucket", "y"]);
    expect(metricNamesOf("label_values(taskflow_queue_jobs, queue)")).toEqual(["taskflow_queue_jobs"]);
  });
});
