import type { PhaseOutcome } from "./phases.js";

export type SystemName = "taskflow" | "bullmq";
const SYSTEMS: SystemName[] = ["taskflow", "bullmq"];

/** Median, least and greatest of a sample. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spreadOf(sample: readonly number[]): Spread {
  const s = [...sample].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median: round(median), min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

const round = (n: number): number => Math.round(n * 100) / 100;

/** Every phase's figures of every round, by system, and what they add up to. */
export class Tally {
  private readonly metrics = new Map<string, Partial<Record<SystemName, number[]>>>();
  private readonly cpu = new Map<string, Partial<Record<SystemName, Map<string, number[]>>>>();

  add(system: SystemName, outcome: PhaseOutcome): void {
    for (const [name, value] of Object.entries(outcome.metrics)) {
      const bySystem = this.metrics.get(name) ?? {};
      (bySystem[system] ??= []).push(value);
      this.metrics.set(name, bySystem);
    }
    for (const [section, components] of Object.entries(outcome.cpu)) {
      const bySystem = this.cpu.get(section) ?? {};
      const byComponent = (bySystem[system] ??= new Map<string, number[]>());
      for (const [component, ms] of Object.entries(components)) byComponent.set(component, [...(byComponent.get(component) ?? []), ms]);
      byComponent.set("total", [...(byComponent.get("total") ?? []), Object.values(components).reduce((a, b) => a + b, 0)]);
      this.cpu.set(section, bySystem);
    }
  }

  /** Medians and spreads per metric and system, and TaskFlow's median over BullMQ's. */
  summary(): {
    spreads: Record<string, Partial<Record<SystemName, Spread>>>;
    ratios: Record<string, number>;
    cpuMsPer1kJobs: Record<string, Partial<Record<SystemName, Record<string, number>>>>;
  } {
    const spreads: Record<string, Partial<Record<SystemName, Spread>>> = {};
    const ratios: Record<string, number> = {};
    for (const [name, bySystem] of this.metrics) {
      spreads[name] = {};
      for (const sys of SYSTEMS) if (bySystem[sys]) spreads[name][sys] = spreadOf(bySystem[sys]);
      const [tf, bull] = [spreads[name].taskflow?.median, spreads[name].bullmq?.median];
      if (tf !== undefined && bull !== undefined && bull !== 0) ratios[name] = round(tf / bull);
    }
    const cpuMsPer1kJobs: Record<string, Partial<Record<SystemName, Record<string, number>>>> = {};
    for (const [section, bySystem] of this.cpu) {
      cpuMsPer1kJobs[section] = {};
      for (const sys of SYSTEMS) {
        const byComponent = bySystem[sys];
        if (byComponent) cpuMsPer1kJobs[section][sys] = Object.fromEntries([...byComponent].map(([c, s]) => [c, spreadOf(s).median]));
      }
    }
    return { spreads, ratios, cpuMsPer1kJobs };
  }

  /** The summary as text tables: figures with spreads and ratios, then CPU per component. */
  table(): string {
    const { spreads, ratios, cpuMsPer1kJobs } = this.summary();
    const cell = (s: Spread | undefined) => (s === undefined ? "-" : `${s.median} (${s.min}–${s.max})`);
    const rows = [["metric", "TaskFlow median (min–max)", "BullMQ median (min–max)", "TaskFlow/BullMQ"]];
    for (const [name, s] of Object.entries(spreads)) rows.push([name, cell(s.taskflow), cell(s.bullmq), ratios[name]?.toString() ?? "-"]);
    const components = ["producer", "scheduler", "history", "worker", "redis", "postgres", "total"];
    const cpuRows = [["CPU ms per 1,000 jobs", ...components]];
    for (const [section, bySystem] of Object.entries(cpuMsPer1kJobs)) {
      for (const sys of SYSTEMS) {
        const c = bySystem[sys];
        if (c) cpuRows.push([`${section} ${sys}`, ...components.map((k) => (c[k] === undefined ? "-" : String(c[k])))]);
      }
    }
    return `${formatTable(rows)}\n(jobs_per_s: higher is better; _ms: lower is better)\n\n${formatTable(cpuRows)}`;
  }
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n");
}
