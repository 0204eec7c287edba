import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, makeEvent, makeJob, setupDatabase, uuidv7 } from "../../../test/fixtures.js";
import { appendEvents, type NewJobEvent } from "./append-events.js";
import { getWorker } from "./get-worker.js";
import { insertJobs } from "./insert-jobs.js";
import { upsertWorkers } from "./upsert-workers.js";

const at = (s: number) => new Date(Date.UTC(2026, 2, 1, 0, 0, s));

/** What a worker's attempts look like in the scheduler's outbox. */
const ev = {
  started: (job: string, seq: number, worker: string, attempt: number): NewJobEvent =>
    makeEvent(job, { seq, type: "started", status: "processing", attempt, workerId: worker, occurredAt: at(seq) }),
  retry: (job: string, seq: number, worker: string, attempt: number): NewJobEvent =>
    makeEvent(job, { seq, type: "retry_scheduled", status: "pending", attempt, workerId: worker, error: "boom", occurredAt: at(seq) }),
  completed: (job: string, seq: number, worker: string, attempt: number): NewJobEvent =>
    makeEvent(job, { seq, type: "completed", status: "completed", attempt, workerId: worker, result: { ok: 1 }, occurredAt: at(seq) }),
  failed: (job: string, seq: number, worker: string, attempt: number): NewJobEvent =>
    makeEvent(job, { seq, type: "failed", status: "failed", attempt, workerId: worker, error: "boom", occurredAt: at(seq) }),
};

describe("worker counters maintained by appendEvents", () => {
  let f: DbFixture;
  beforeAll(async () => {
    f = await setupDatabase();
  });
  afterAll(async () => {
    await f?.close();
  });

  const newJobs = async (n: number): Promise<string[]> => {
    const jobs = Array.from({ length: n }, () => makeJob());
    await insertJobs(f.pool, jobs);
    return jobs.map((j) => j.id);
  };
  /** `{ worker: "completed/failed" }` for the workers named. */
  const counts = async (...ids: string[]): Promise<Record<string, string>> => {
    const { rows } = await f.pool.query<{ id: string; c: string; f: string }>(
      `SELECT w.id, (SELECT coalesce(sum(completed), 0) FROM worker_outcome_counts WHERE worker_id = w.id)::text AS c,
              (SELECT coalesce(sum(failed), 0) FROM worker_outcome_counts WHERE worker_id = w.id)::text AS f
       FROM unnest($1::text[]) AS w(id) ORDER BY w.id`,
      [ids],
    );
    return Object.fromEntries(rows.map((r) => [r.id, `${r.c}/${r.f}`]));
  };
  const register = (id: string) =>
    upsertWorkers(f.pool, [
      { id, status: "healthy", queues: ["default"], jobTypes: ["email.send"], concurrency: 4, hostname: "h", metadata: {}, currentJobIds: [], startedAt: at(0) },
    ]);

  it("counts completed attempts, and retried or failed ones, per worker; nothing else", async () => {
    await register("wc-a");
    const [retried, failed, expired, cancelled] = await newJobs(4);
    const batch = [
      ev.started(retried!, 2, "wc-a", 1),
      ev.retry(retried!, 3, "wc-a", 1),
      ev.started(retried!, 4, "wc-b", 2),
      ev.completed(retried!, 5, "wc-b", 2),
      ev.started(failed!, 2, "wc-a", 1),
      ev.failed(failed!, 3, "wc-a", 1),
      ev.started(expired!, 2, "wc-a", 1),
      makeEvent(expired!, { seq: 3, type: "lease_expired", status: "pending", attempt: 1, workerId: "wc-a" }),
      makeEvent(expired!, { seq: 4, type: "released", status: "pending", attempt: 1, workerId: "wc-a" }),
      makeEvent(cancelled!, { seq: 2, type: "cancelled", status: "cancelled", actor: "api" }),
    ];
    expect((await appendEvents(f.pool, batch)).appended).toBe(10);
    expect(await counts("wc-a", "wc-b")).toEqual({ "wc-a": "0/2", "wc-b": "1/0" });
  });

  it("changes no count when a batch is applied again, whole or in part", async () => {
    const [job] = await newJobs(1);
    const batch = [ev.started(job!, 2, "wc-c", 1), ev.retry(job!, 3, "wc-c", 1), ev.started(job!, 4, "wc-c", 2)];
    await appendEvents(f.pool, batch);
    expect(await counts("wc-c")).toEqual({ "wc-c": "0/1" });
    expect((await appendEvents(f.pool, batch)).appended).toBe(0);
    expect(await counts("wc-c")).toEqual({ "wc-c": "0/1" });
    // The old events again with a new one: only the new one counts.
    const res = await appendEvents(f.pool, [...batch, ev.completed(job!, 5, "wc-c", 2)]);
    expect(res.appended).toBe(1);
    expect(await counts("wc-c")).toEqual({ "wc-c": "1/1" });
  });

  it("counts nothing for events of jobs history does not know", async () => {
    const unknown = uuidv7();
    const res = await appendEvents(f.pool, [ev.completed(unknown, 2, "wc-d", 1)]);
    expect(res.unknownJobIds).toEqual([unknown]);
    expect(await counts("wc-d")).toEqual({ "wc-d": "0/0" });
    const { rows } = await f.pool.query("SELECT 1 FROM worker_outcome_counts WHERE worker_id = 'wc-d'");
    expect(rows).toEqual([]);
  });

  it("counts the outcomes of a worker not registered yet, shown once it registers", async () => {
    const [job] = await newJobs(1);
    await appendEvents(f.pool, [ev.started(job!, 2, "wc-e", 1), ev.completed(job!, 9, "wc-e", 1)]);
    expect(await getWorker(f.pool, { id: "wc-e", staleMs: 30_000, goneMs: 300_000 })).toBeUndefined();
    await register("wc-e");
    const after = await getWorker(f.pool, { id: "wc-e", staleMs: 30_000, goneMs: 300_000 });
    expect(after).toMatchObject({ jobs_completed: "1", jobs_failed: "0", job_types: ["email.send"], health: "healthy" });
    expect(after?.started_at).toEqual(at(0));
  });

  it("spreads a worker's counts over stripes and reads their sum", async () => {
    await register("wc-g");
    const jobs = await newJobs(40);
    for (const job of jobs) await appendEvents(f.pool, [ev.started(job, 2, "wc-g", 1), ev.completed(job, 3, "wc-g", 1)]);
    const { rows } = await f.pool.query<{ stripes: number; total: string }>(
      "SELECT count(*)::int AS stripes, sum(completed)::text AS total FROM worker_outcome_counts WHERE worker_id = 'wc-g'",
    );
    // 40 statements over 8 stripes at random: all in one stripe would be a 1-in-8^39 draw.
    expect(rows[0]!.stripes).toBeGreaterThan(1);
    expect(rows[0]!.total).toBe("40");
    expect(await counts("wc-g")).toEqual({ "wc-g": "40/0" });
  });

  it("loses no count when batches for one worker are applied at once", async () => {
    const jobs = await newJobs(20);
    await Promise.all(
      jobs.map((job, i) =>
        appendEvents(f.pool, [
          ev.started(job, 2, "wc-f", 1),
          i % 4 === 0 ? ev.failed(job, 3, "wc-f", 1) : ev.completed(job, 3, "wc-f", 1),
        ]),
      ),
    );
    expect(await counts("wc-f")).toEqual({ "wc-f": "15/5" });
  });
});
