import type { ShapeResult } from "./measure-shapes.js";

/** What the run loaded, for the summary line. */
export interface RunFacts {
  jobs: number;
  events: number;
  days: number;
  seed: number;
  iterations: number;
  /** Seconds the load took (COPY, workers, VACUUM ANALYZE). */
  loadS: number;
}

/** One shape in the summary line; latencies are null when it was unavailable. */
export interface ShapeFigures {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  target_ms: number;
  met: boolean;
  unavailable?: string;
}

const COLUMNS = ["shape", "p50 ms", "p95 ms", "p99 ms", "max ms", "p99 target", "result"] as const;

/** The results as an aligned text table, one shape a line. */
export function formatTable(results: readonly ShapeResult[]): string {
  const rows = results.map((r): string[] =>
    "summary" in r
      ? [r.name, ...[r.summary.p50, r.summary.p95, r.summary.p99, r.summary.max].map((n) => n.toFixed(2)), `< ${r.targetMs}`, r.met ? "met" : "MISSED"]
      : [r.name, "-", "-", "-", "-", `< ${r.targetMs}`, `unavailable: ${r.unavailable}`],
  );
  const table = [[...COLUMNS], ...rows];
  const widths = COLUMNS.map((_, c) => Math.max(...table.map((row) => (row[c] ?? "").length)));
  return table
    .map((row) => row.map((cell, c) => (c === 0 || c === row.length - 1 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join("  ").trimEnd())
    .join("\n");
}

/** The figures of every shape, keyed by shape name. */
export function shapeFigures(results: readonly ShapeResult[]): Record<string, ShapeFigures> {
  return Object.fromEntries(
    results.map((r): [string, ShapeFigures] => [
      r.name,
      "summary" in r
        ? { p50: r.summary.p50, p95: r.summary.p95, p99: r.summary.p99, max: r.summary.max, target_ms: r.targetMs, met: r.met }
        : { p50: null, p95: null, p99: null, max: null, target_ms: r.targetMs, met: false, unavailable: r.unavailable },
    ]),
  );
}

/** The run's one-line JSON summary, printed last. */
export function summaryLine(run: RunFacts, results: readonly ShapeResult[]): string {
  return JSON.stringify({
    bench: "history",
    jobs: run.jobs,
    events: run.events,
    days: run.days,
    seed: run.seed,
    iterations: run.iterations,
    load_s: Math.round(run.loadS * 10) / 10,
    load_rows_per_s: Math.round((run.jobs + run.events) / run.loadS),
    shapes: shapeFigures(results),
  });
}
