import type { Queryable } from "../src/db/queryable.js";
import { appendEvents, type NewJobEvent } from "../src/db/queries/append-events.js";
import { insertJobs } from "../src/db/queries/insert-jobs.js";
import type { JobStatusText, JsonObject } from "../src/db/rows.js";
import { makeEvent, makeJob } from "./fixtures.js";

/**
 * A small set of jobs whose every field is known, spread over four days (2026-03-01 to
 * 2026-03-04, UTC), for checking ListJobs by hand. Tests name jobs by their label; `JOB_SET`
 * is in creation order, so newest first is the labels reversed.
 */
export interface JobSpec {
  label: string;
  /** Creation instant: the id's timestamp. */
  created: string;
  type: string;
  queue: string;
  status: JobStatusText;
  /** Attempts started; each but the last ended in a retry with the next of `errors`. */
  attempts: number;
  worker: string | null;
  /** Error of each failed attempt, in order; the last is the job's error. */
  errors: string[];
  /** When the job reached its terminal status. */
  finished: string | null;
  payload: JsonObject;
}

/** The days the set covers; their partitions must exist before it is inserted. */
export const JOB_SET_DAYS = ["2026-03-01", "2026-03-04"] as const;

const spec = (
  label: string,
  created: string,
  type: string,
  queue: string,
  status: JobStatusText,
  attempts: number,
  worker: string | null,
  errors: string[],
  finished: string | null,
  payload: JsonObject,
): JobSpec => ({ label, created, type, queue, status, attempts, worker, errors, finished, payload });

export const JOB_SET: readonly JobSpec[] = [
  spec("a", "2026-03-01T08:00:00.000Z", "email.send", "default", "completed", 1, "w-1", [], "2026-03-01T08:01:00.000Z",
    { to: "ann@example.com", customer: { id: 1, tier: "gold" } }),
  spec("b", "2026-03-01T09:00:00.000Z", "report.build", "reports", "failed", 3, "w-2", ["disk full", "disk full", "disk full"],
    "2026-03-01T10:00:00.000Z", { customer: { id: 2 }, report: "monthly" }),
  spec("c", "2026-03-01T23:59:59.999Z", "email.send", "bulk", "pending", 0, null, [], null,
    { to: "bob@example.com", customer: { id: 1 } }),
  spec("d", "2026-03-02T00:00:00.000Z", "sms.send", "default", "processing", 1, "w-1", [], null,
    { phone: "+15550001", customer: { id: 3 } }),
  spec("e", "2026-03-02T12:00:00.000Z", "email.send", "default", "failed", 2, "w-3", ["smtp timeout", "smtp timeout"],
    "2026-03-02T12:05:00.000Z", { to: "carol@example.com", customer: { id: 2, tier: "gold" } }),
  // Same millisecond as e: the id's counter orders them.
  spec("f", "2026-03-02T12:00:00.000Z", "report.build", "reports", "completed", 2, "w-2", ["connection refused"],
    "2026-03-02T13:00:00.000Z", { report: "weekly", customer: { id: 3 } }),
  spec("g", "2026-03-03T06:00:00.000Z", "email.send", "bulk", "cancelled", 0, null, [], "2026-03-03T06:30:00.000Z",
    { to: "dave@example.com", tags: ["promo"] }),
  spec("h", "2026-03-03T07:00:00.000Z", "sms.send", "default", "completed", 1, "w-3", [], "2026-03-03T07:00:05.000Z",
    { phone: "+15550002", customer: { id: 1, tier: "gold" } }),
  spec("i", "2026-03-03T18:00:00.000Z", "email.send", "default", "failed", 1, "w-1", ["smtp timeout after 30s"],
    "2026-03-03T18:01:00.000Z", { to: "erin@example.com" }),
  spec("j", "2026-03-04T01:00:00.000Z", "report.build", "reports", "pending", 0, null, [], null, { report: "daily" }),
  spec("k", "2026-03-04T02:00:00.000Z", "email.send", "default", "completed", 3, "w-3", ["smtp timeout", "smtp timeout"],
    "2026-03-04T03:00:00.000Z", { to: "ann@example.com", customer: { id: 1 } }),
  spec("l", "2026-03-04T23:00:00.000Z", "sms.send", "bulk", "processing", 2, "w-2", ["gateway busy"], null,
    { phone: "+15550003" }),
];

/**
 * A UUIDv7 of instant `at` with `n` in its counter and tail: deterministic, so two jobs of one
 * millisecond sort by `n`.
 */
export function uuidv7At(at: string, n: number): string {
  const ms = new Date(at).getTime().toString(16).padStart(12, "0");
  const tail = n.toString(16).padStart(15, "0");
  const c = (n & 0xfff).toString(16).padStart(3, "0");
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${c}-8${tail.slice(0, 3)}-${tail.slice(3)}`;
}

/** Id of each labelled job. */
export const JOB_IDS: ReadonlyMap<string, string> = new Map(JOB_SET.map((j, i) => [j.label, uuidv7At(j.created, i + 1)]));

/** The id of job `label`. */
export function jobId(label: string): string {
  const id = JOB_IDS.get(label);
  if (id === undefined) throw new Error(`no job ${label} in the set`);
  return id;
}

const LABELS = new Map([...JOB_IDS].map(([label, id]) => [id, label]));

/** Labels of `ids`, in order; "?" for a job outside the set. */
export const labelsOf = (ids: readonly string[]): string => ids.map((id) => LABELS.get(id) ?? "?").join(" ");

/** The trail the scheduler would report for `j` after its SUBMITTED event. */
function trailOf(j: JobSpec, id: string): NewJobEvent[] {
  const t0 = new Date(j.created).getTime();
  const events: NewJobEvent[] = [];
  const add = (e: Omit<Parameters<typeof makeEvent>[1], "seq">, at: number) =>
    events.push(makeEvent(id, { ...e, seq: events.length + 2, occurredAt: new Date(at) }));
  for (let attempt = 1; attempt <= j.attempts; attempt += 1) {
    const base = { attempt, workerId: j.worker, actor: `worker:${j.worker ?? ""}` };
    add({ ...base, type: "started", status: "processing" }, t0 + attempt * 1_000);
    if (attempt < j.attempts) {
      add({ ...base, type: "retry_scheduled", status: "pending", error: j.errors[attempt - 1] ?? null }, t0 + attempt * 1_000 + 500);
    }
  }
  const end = j.finished === null ? 0 : new Date(j.finished).getTime();
  const last = { attempt: j.attempts, workerId: j.worker, actor: `worker:${j.worker ?? ""}` };
  if (j.status === "completed") add({ ...last, type: "completed", status: "completed", result: { ok: true } }, end);
  if (j.status === "failed") add({ ...last, type: "failed", status: "failed", error: j.errors.at(-1) ?? null }, end);
  if (j.status === "cancelled") add({ attempt: 0, workerId: null, actor: "api", type: "cancelled", status: "cancelled" }, end);
  return events;
}

/**
 * Creates the days' partitions and inserts the set through the ingest path: InsertJobs, then
 * AppendEvents with each job's trail.
 */
export async function insertJobSet(db: Queryable): Promise<void> {
  await db.query({ text: "SELECT taskflow_ensure_partitions($1::date, $2::date)", values: [...JOB_SET_DAYS] });
  await insertJobs(
    db,
    JOB_SET.map((j) => makeJob({ id: jobId(j.label), type: j.type, queue: j.queue, payload: j.payload, scheduledAt: new Date(j.created) })),
  );
  await appendEvents(db, JOB_SET.flatMap((j) => trailOf(j, jobId(j.label))));
}

