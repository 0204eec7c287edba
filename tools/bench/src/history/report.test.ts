import { describe, expect, it } from "vitest";
import type { ShapeResult } from "./measure-shapes.js";
import { formatTable, summaryLine } from "./report.js";

const probe = { size: 1, call: () => Promise.resolve(1) };
const RESULTS: ShapeResult[] = [
  { name: "list_fast", targetMs: 50, summary: { count: 200, p50: 1.5, p95: 3, p99: 4.25, max: 9 }, met: true, probe },
  { name: "stats_slow", targetMs: 250, summary: { count: 200, p50: 200, p95: 260, p99: 300, max: 310 }, met: false, probe },
  { name: "list_new", targetMs: 50, unavailable: "unimplemented" },
];

describe("formatTable", () => {
  it("prints a header and one aligned row per shape with its verdict", () => {
    const lines = formatTable(RESULTS).split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^shape\s+p50 ms\s+p95 ms\s+p99 ms\s+max ms\s+p99 target\s+result$/);
    expect(lines[1]).toMatch(/^list_fast\s+1\.50\s+3\.00\s+4\.25\s+9\.00\s+< 50\s+met$/);
    expect(lines[2]).toMatch(/^stats_slow\s+200\.00\s+260\.00\s+300\.00\s+310\.00\s+< 250\s+MISSED$/);
    expect(lines[3]).toMatch(/^list_new\s+-\s+-\s+-\s+-\s+< 50\s+unavailable: unimplemented$/);
    const resultColumn = lines[0]?.indexOf("result");
    expect(["met", "MISSED", "unavailable"].map((v, i) => lines[i + 1]?.indexOf(v))).toEqual([resultColumn, resultColumn, resultColumn]);
  });
});

describe("summaryLine", () => {
  it("is one line of JSON with the load and every shape's figures", () => {
    const line = summaryLine({ jobs: 1_000, events: 2_990, days: 2, seed: 9, iterations: 200, loadS: 2 }, RESULTS);
    expect(line).not.toContain("\n");
    expect(JSON.parse(line)).toEqual({
      bench: "history",
      jobs: 1_000,
      events: 2_990,
      days: 2,
      seed: 9,
      iterations: 200,
      load_s: 2,
      load_rows_per_s: 1_995,
      shapes: {
        list_fast: { p50: 1.5, p95: 3, p99: 4.25, max: 9, target_ms: 50, met: true },
        stats_slow: { p50: 200, p95: 260, p99: 300, max: 310, target_ms: 250, met: false },
        list_new: { p50: null, p95: null, p99: null, max: null, target_ms: 50, met: false, unavailable: "unimplemented" },
      },
    });
  });
});
