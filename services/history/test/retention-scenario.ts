import type pg from "pg";
import { listPartitions } from "../src/db/queries/partitions.js";
import { addJob, dayStartMs, jobIds, makeDayPartitions, suffixOf } from "./retention-data.js";

export const HOUR = 3_600_000;

/** The jobs of a hand-built history, by what retention (10 days) must do with them. */
export interface Scenario {
  /** Day -40 (completed, failed, cancelled long ago) and day -39 (two completed): dropped whole. */
  dayA: string[];
  dayB: string[];
  /** Day -30: finished long ago, deleted row by row. */
  goneC: string[];
  /** Day -30: pending, processing, and created long ago but finished yesterday: kept. */
  keptC: string[];
  /** Day -2: finished after the cutoff: kept, and their day is not even looked at. */
  keptD: string[];
  /** Day -50 has no partition, so these sit in DEFAULT: two finished long ago go, a pending one stays. */
  goneDefault: string[];
  keptDefault: string[];
}

export async function buildScenario(pool: pg.Pool): Promise<Scenario> {
  for (const d of [-40, -39, -30, -2]) await makeDayPartitions(pool, d);
  const at = (day: number, hours: number) => dayStartMs(day) + hours * HOUR;
  return {
    dayA: [await addJob(pool, at(-40, 1), "completed"), await addJob(pool, at(-40, 2), "failed"), await addJob(pool, at(-40, 3), "cancelled")],
    dayB: [await addJob(pool, at(-39, 5), "completed"), await addJob(pool, at(-39, 6), "completed")],
    goneC: [await addJob(pool, at(-30, 1), "completed"), await addJob(pool, at(-30, 2), "failed")],
    keptC: [
      await addJob(pool, at(-30, 3), "pending"),
      await addJob(pool, at(-30, 4), "processing"),
      await addJob(pool, at(-30, 5), "completed", dayStartMs(-1)),
    ],
    keptD: [await addJob(pool, at(-2, 1), "completed"), await addJob(pool, at(-2, 2), "cancelled")],
    goneDefault: [await addJob(pool, at(-50, 1), "completed"), await addJob(pool, at(-50, 2), "failed")],
    keptDefault: [await addJob(pool, at(-50, 3), "pending")],
  };
}

export const removed = (s: Scenario) => [...s.dayA, ...s.dayB, ...s.goneC, ...s.goneDefault];
export const kept = (s: Scenario) => [...s.keptC, ...s.keptD, ...s.keptDefault];
export const sorted = (ids: readonly string[]) => [...ids].sort();
export const dayTables = (day: number) => [`jobs_p${suffixOf(day)}`, `job_events_p${suffixOf(day)}`];

/** Everything retention could change: jobs, events, partitions. */
export async function snapshot(pool: pg.Pool) {
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM job_events");
  return { ids: await jobIds(pool), events: rows[0]?.n, partitions: (await listPartitions(pool)).map((p) => p.table).sort() };
}
