import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { processCpuMs } from "../cpu.js";

/**
 * CPU ms of each client backend connected to database `db`, from /proc (PostgreSQL must run on
 * this machine). Per backend, not per server: other databases' work on a shared server does not
 * count, and the backends of one database are exactly the statements run there.
 */
export async function backendCpu(admin: pg.Client, db: string): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>({
    text: "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'",
    values: [db],
  });
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    const cpu = processCpuMs(pid);
    if (cpu !== undefined) out.set(pid, cpu.own);
  }
  return out;
}

/**
 * CPU ms spent between two {@link backendCpu} readings, and how many backends of the first ended
 * before the second (their CPU since the first reading is lost; the figure is then a floor).
 */
export function backendCpuSpent(before: Map<number, number>, after: Map<number, number>): { ms: number; lost: number } {
  let ms = 0;
  for (const [pid, now] of after) ms += now - (before.get(pid) ?? 0);
  const lost = [...before.keys()].filter((pid) => !after.has(pid)).length;
  return { ms, lost };
}

/** Row and index counters of the jobs and job_events partitions, summed per parent. */
export interface TableCounters {
  jobsInserted: number;
  jobsUpdated: number;
  jobsHotUpdated: number;
  eventsInserted: number;
  /** Bytes of every index of both parents' partitions. */
  indexBytes: number;
  /** Bytes of both parents' partitions' heaps (main fork). */
  heapBytes: number;
}

const COUNTERS_SQL = `
SELECT coalesce(sum(s.n_tup_ins) FILTER (WHERE i.inhparent = 'jobs'::regclass), 0)::float8 AS jobs_ins,
       coalesce(sum(s.n_tup_upd) FILTER (WHERE i.inhparent = 'jobs'::regclass), 0)::float8 AS jobs_upd,
       coalesce(sum(s.n_tup_hot_upd) FILTER (WHERE i.inhparent = 'jobs'::regclass), 0)::float8 AS jobs_hot,
       coalesce(sum(s.n_tup_ins) FILTER (WHERE i.inhparent = 'job_events'::regclass), 0)::float8 AS events_ins,
       coalesce(sum(pg_indexes_size(s.relid)), 0)::float8 AS index_bytes,
       coalesce(sum(pg_relation_size(s.relid)), 0)::float8 AS heap_bytes
FROM pg_stat_user_tables s
JOIN pg_inherits i ON i.inhrelid = s.relid
WHERE i.inhparent IN ('jobs'::regclass, 'job_events'::regclass)`;

interface CountersRow {
  jobs_ins: number;
  jobs_upd: number;
  jobs_hot: number;
  events_ins: number;
  index_bytes: number;
  heap_bytes: number;
}

async function readCounters(db: pg.Client): Promise<TableCounters> {
  const { rows } = await db.query<CountersRow>(COUNTERS_SQL);
  const r = rows[0] as CountersRow;
  return {
    jobsInserted: r.jobs_ins,
    jobsUpdated: r.jobs_upd,
    jobsHotUpdated: r.jobs_hot,
    eventsInserted: r.events_ins,
    indexBytes: r.index_bytes,
    heapBytes: r.heap_bytes,
  };
}

/**
 * The counters once every backend has reported. A backend sends its row counts to the shared
 * statistics when it goes idle, at most once a second, and 10 s later when that flush met a
 * lock; so this reads until `complete` holds (the rows a phase must have written are counted)
 * and two readings a little over a second apart agree, or 30 s have passed.
 */
export async function settledCounters(db: pg.Client, complete: (c: TableCounters) => boolean = () => true): Promise<TableCounters> {
  let last = await readCounters(db);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    await sleep(1_100);
    const next = await readCounters(db);
    if (complete(next) && JSON.stringify(next) === JSON.stringify(last)) return next;
    last = next;
  }
  throw new Error("the statistics did not settle within 30 s");
}

/** `after - before`, field by field. */
export function countersSpent(before: TableCounters, after: TableCounters): TableCounters {
  const out = { ...after };
  for (const k of Object.keys(out) as (keyof TableCounters)[]) out[k] = after[k] - before[k];
  return out;
}

/** The server's WAL position in bytes (whole server: other databases' writes count too). */
export async function walBytes(admin: pg.Client): Promise<number> {
  const { rows } = await admin.query<{ b: number }>("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 AS b");
  return rows[0]?.b ?? 0;
}

/**
 * Turns autovacuum off on every partition of jobs and job_events of the database, so no vacuum
 * runs unmeasured in the middle of a phase; the bench vacuums as a phase of its own.
 */
export async function disableAutovacuum(db: pg.Client): Promise<void> {
  const { rows } = await db.query<{ name: string }>(
    "SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent IN ('jobs'::regclass, 'job_events'::regclass)",
  );
  // Names come from the catalog (regclass output is quoted where needed), never from input.
  for (const { name } of rows) await db.query(`ALTER TABLE ${name} SET (autovacuum_enabled = false)`);
}
