import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type pg from "pg";
import { appendEvents, type NewJobEvent } from "../src/db/queries/append-events.js";
import { insertJobs } from "../src/db/queries/insert-jobs.js";
import { StatementTimings } from "../src/db/statements.js";
import type { RetentionOptions } from "../src/retention/options.js";
import { makeEvent, makeJob, quietLogger, uuidAt } from "./fixtures.js";

export const DAY_MS = 86_400_000;

/** UTC midnight of the day {@link pinToday} took from the database, in ms. */
let pinnedTodayMs: number | undefined;

/**
 * Closer than this to midnight (UTC, by the database's clock), {@link pinToday} waits for the new
 * day: setup after it and a test (at most 30 s) then end before the day changes again.
 */
const MIDNIGHT_MARGIN_MS = 45_000;

const TODAY_SQL = `
SELECT (now() AT TIME ZONE 'UTC')::date::text AS today,
       (extract(epoch FROM date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day' - (now() AT TIME ZONE 'UTC')) * 1000)::float8 AS left_ms`;

/**
 * Makes "today" for {@link dayStartMs}, {@link dayOf} and {@link suffixOf} the day PostgreSQL's
 * clock says (UTC), the clock of everything that names days by `now()`: the migrations and
 * partition upkeep creating today's partitions, retention's cutoff. A day taken from the test
 * process's clock, and read again at each use, could differ from the database's near midnight.
 * Near midnight (see {@link MIDNIGHT_MARGIN_MS}) it first waits for the new day. Call it in the
 * setup of each test, before building the test's days.
 */
export async function pinToday(pool: pg.Pool): Promise<void> {
  for (;;) {
    const { rows } = await pool.query<{ today: string; left_ms: number }>(TODAY_SQL);
    const { today, left_ms: leftMs } = rows[0]!;
    if (leftMs >= MIDNIGHT_MARGIN_MS) {
      pinnedTodayMs = Date.parse(`${today}T00:00:00Z`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(leftMs + 50, 1_000)));
  }
}

/** UTC midnight of today (as pinned by {@link pinToday}) plus `offsetDays`, in ms. */
export function dayStartMs(offsetDays: number): number {
  if (pinnedTodayMs === undefined) throw new Error("call pinToday(pool) in the test's setup before naming days");
  return pinnedTodayMs + offsetDays * DAY_MS;
}

/** `YYYY-MM-DD` of today plus `offsetDays` (UTC). */
export const dayOf = (offsetDays: number): string => new Date(dayStartMs(offsetDays)).toISOString().slice(0, 10);

/** `YYYYMMDD`, as partition names carry the day. */
export const suffixOf = (offsetDays: number): string => dayOf(offsetDays).replaceAll("-", "");

/** Creates the day partitions of today plus `offsetDays`, as the upkeep would have then. */
export async function makeDayPartitions(pool: pg.Pool, offsetDays: number): Promise<void> {
  await pool.query("SELECT taskflow_ensure_partitions($1::date, $1::date)", [dayOf(offsetDays)]);
}

/** Where a test job ends up. */
export type Fate = "pending" | "processing" | "completed" | "failed" | "cancelled";

/**
 * Inserts a job created at `createdMs` through InsertJobs and moves it to `fate` through
 * AppendEvents, its last event at `finishedMs`: a real trail, and completed_at set as in
 * production. Resolves to the id.
 */
export async function addJob(pool: pg.Pool, createdMs: number, fate: Fate, finishedMs = createdMs + 60_000): Promise<string> {
  const id = uuidAt(createdMs);
  await insertJobs(pool, [makeJob({ id, payload: { n: createdMs % 1000, tag: "retention" } })]);
  const started = makeEvent(id, { seq: 2, type: "started", status: "processing", attempt: 1, workerId: "w1", occurredAt: new Date(createdMs + 1_000) });
  const events: NewJobEvent[] = fate === "pending" ? [] : [started];
  const at = new Date(finishedMs);
  if (fate === "completed") events.push(makeEvent(id, { seq: 3, type: "completed", status: "completed", attempt: 1, workerId: "w1", result: { ok: true }, occurredAt: at }));
  if (fate === "failed") events.push(makeEvent(id, { seq: 3, type: "failed", status: "failed", attempt: 1, workerId: "w1", error: "boom", occurredAt: at }));
  if (fate === "cancelled") events.push(makeEvent(id, { seq: 3, type: "cancelled", status: "cancelled", attempt: 1, occurredAt: at }));
  if (events.length > 0) await appendEvents(pool, events);
  return id;
}

/** Ids of every job, sorted. */
export async function jobIds(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>("SELECT id FROM jobs ORDER BY id");
  return rows.map((r) => r.id);
}

/** Number of events of the jobs `ids`. */
export async function eventCount(pool: pg.Pool, ids: readonly string[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM job_events WHERE job_id = ANY($1::uuid[])", [ids]);
  return rows[0]?.n ?? 0;
}

/** Whether table `name` exists. */
export async function tableExists(pool: pg.Pool, name: string): Promise<boolean> {
  const { rows } = await pool.query<{ ok: boolean }>("SELECT to_regclass($1::text) IS NOT NULL AS ok", [name]);
  return rows[0]?.ok === true;
}

/** Retention options over `pool` for a test; override what the test is about. */
export function retentionTestOptions(pool: pg.Pool, over: Partial<RetentionOptions> = {}): RetentionOptions {
  return {
    pool,
    timings: new StatementTimings(),
    logger: quietLogger,
    retentionDays: 10,
    batchSize: 1_000,
    archiveDir: "",
    lockTimeoutMs: 2_000,
    ...over,
  };
}

/** A fresh directory for archives; `remove()` deletes it. */
export async function tempArchiveDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "tf-retention-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Every line of a gzipped NDJSON archive, parsed. */
export async function readArchive(path: string): Promise<Record<string, unknown>[]> {
  const text = gunzipSync(await readFile(path)).toString("utf8");
  expectEndsWithNewline(text);
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function expectEndsWithNewline(text: string): void {
  if (text !== "" && !text.endsWith("\n")) throw new Error("archive does not end with a newline");
}

/** Names of the files in `dir`, sorted. */
export async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}
