import type pg from "pg";
import type { Queryable, Statement } from "./queryable.js";

/** Durations kept per statement for its p95: the most recent ones, in a ring. */
const RECENT = 512;

/** What {@link StatementTimings.snapshot} reports for one statement name. */
export interface StatementTiming {
  name: string;
  calls: number;
  errors: number;
  totalMs: number;
  meanMs: number;
  /** Over the last {@link RECENT} calls. */
  p95Ms: number;
  maxMs: number;
}

interface Entry {
  calls: number;
  errors: number;
  totalMs: number;
  maxMs: number;
  recent: Float64Array;
}

/**
 * Per-statement timings of this process: calls, errors, total, mean, max and a p95 over the
 * most recent calls. Statements are keyed by their pg name, or by their label when they are
 * deliberately not prepared (see {@link Statement}).
 */
export class StatementTimings {
  private readonly entries = new Map<string, Entry>();

  record(name: string, ms: number, ok: boolean): void {
    let e = this.entries.get(name);
    if (e === undefined) {
      e = { calls: 0, errors: 0, totalMs: 0, maxMs: 0, recent: new Float64Array(RECENT) };
      this.entries.set(name, e);
    }
    e.recent[e.calls % RECENT] = ms;
    e.calls += 1;
    if (!ok) e.errors += 1;
    e.totalMs += ms;
    if (ms > e.maxMs) e.maxMs = ms;
  }

  snapshot(): StatementTiming[] {
    return [...this.entries].map(([name, e]) => {
      const recent = Array.from(e.recent.subarray(0, Math.min(e.calls, RECENT))).sort((a, b) => a - b);
      const p95 = recent[Math.min(recent.length - 1, Math.ceil(recent.length * 0.95) - 1)] ?? 0;
      return { name, calls: e.calls, errors: e.errors, totalMs: e.totalMs, meanMs: e.totalMs / e.calls, p95Ms: p95, maxMs: e.maxMs };
    });
  }
}

/** Something that runs queries: a pool or a checked-out client. */
type Runner = Pick<pg.Pool, "query"> | Pick<pg.PoolClient, "query">;

/** A {@link Queryable} over `runner` that records every statement's duration in `timings`. */
export function timed(runner: Runner, timings: StatementTimings): Queryable {
  return {
    async query<R extends pg.QueryResultRow>(config: Statement): Promise<pg.QueryResult<R>> {
      const started = performance.now();
      let ok = false;
      try {
        const result = await (runner as Pick<pg.Pool, "query">).query<R>(config);
        ok = true;
        return result;
      } finally {
        timings.record(config.name ?? config.label ?? "unnamed", performance.now() - started, ok);
      }
    },
  };
}
