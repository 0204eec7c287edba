import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, makeEvent, makeJob, setupDatabase, uuidv7, waitForLockWaiter } from "../../../test/fixtures.js";
import type { JobRow } from "../rows.js";
import { appendEvents, type NewJobEvent } from "./append-events.js";
import { insertJobs } from "./insert-jobs.js";

const started = (jobId: string, seq: number, attempt: number): NewJobEvent =>
  makeEvent(jobId, { seq, type: "started", status: "processing", attempt, workerId: "w1" });
const retried = (jobId: string, seq: number, attempt: number): NewJobEvent =>
  makeEvent(jobId, { seq, type: "retry_scheduled", status: "pending", attempt, workerId: "w1", error: "boom" });
const completed = (jobId: string, seq: number, attempt: number): NewJobEvent =>
  makeEvent(jobId, { seq, type: "completed", status: "completed", attempt, workerId: "w1", result: { ok: true } });

describe("appendEvents reporting clashing events", () => {
  let f: DbFixture;
  beforeAll(async () => {
    f = await setupDatabase();
  });
  afterAll(async () => {
    await f?.close();
  });

  const newJob = async (): Promise<string> => {
    const [row] = await insertJobs(f.pool, [makeJob()]);
    return (row as JobRow).id;
  };
  const readJob = async (id: string): Promise<JobRow> =>
    (await f.pool.query<JobRow>("SELECT * FROM jobs WHERE id = $1", [id])).rows[0] as JobRow;
  const trail = async (id: string) =>
    (await f.pool.query("SELECT seq, type, attempt FROM job_events WHERE job_id = $1 ORDER BY seq", [id])).rows;
  const failedCount = async (worker: string) =>
    (await f.pool.query<{ n: string | null }>("SELECT sum(failed)::text AS n FROM worker_outcome_counts WHERE worker_id = $1", [worker]))
      .rows[0]?.n;

  it("reports events whose (job_id, seq) the trail holds for another type or attempt, and records nothing of them", async () => {
    const id = await newJob();
    await appendEvents(f.pool, [started(id, 2, 1), retried(id, 3, 1)]);
    const before = await readJob(id);

    const res = await appendEvents(f.pool, [completed(id, 3, 1), started(id, 2, 7), started(id, 4, 2)]);

    expect(res).toEqual({
      appended: 1,
      moved: 1,
      unknownJobIds: [],
      clashingEvents: [
        { jobId: id, seq: 2 },
        { jobId: id, seq: 3 },
      ],
    });
    expect(await trail(id)).toEqual([
      { seq: 1, type: "submitted", attempt: 0 },
      { seq: 2, type: "started", attempt: 1 },
      { seq: 3, type: "retry_scheduled", attempt: 1 },
      { seq: 4, type: "started", attempt: 2 },
    ]);
    // The row is the fold of the trail: seq 4 moved it, the refused 'completed' did not finish it.
    expect(await readJob(id)).toMatchObject({ status: "processing", last_seq: 4, attempts: 2, completed_at: null, result: null });
    expect(before.status).toBe("pending");
  });

  it("does not finish a job on a refused terminal event", async () => {
    const id = await newJob();
    await appendEvents(f.pool, [started(id, 2, 1), retried(id, 3, 1)]);
    const before = await readJob(id);
    const res = await appendEvents(f.pool, [completed(id, 3, 1)]);
    expect(res).toEqual({ appended: 0, moved: 0, unknownJobIds: [], clashingEvents: [{ jobId: id, seq: 3 }] });
    expect(await readJob(id)).toEqual(before);
  });

  it("takes a replay equal in type and attempt for no clash, whatever else differs", async () => {
    const id = await newJob();
    await appendEvents(f.pool, [started(id, 2, 1)]);
    const replay = { ...started(id, 2, 1), workerId: "w9", occurredAt: new Date(Date.UTC(2031, 0, 1)) };
    expect(await appendEvents(f.pool, [replay])).toEqual({ appended: 0, moved: 0, unknownJobIds: [], clashingEvents: [] });
  });

  it("records the first of two different events of one (job_id, seq) in a batch and reports the second", async () => {
    const id = await newJob();
    const res = await appendEvents(f.pool, [started(id, 2, 1), retried(id, 3, 1), completed(id, 3, 1)]);
    expect(res).toEqual({ appended: 2, moved: 1, unknownJobIds: [], clashingEvents: [{ jobId: id, seq: 3 }] });
    expect(await trail(id)).toEqual([
      { seq: 1, type: "submitted", attempt: 0 },
      { seq: 2, type: "started", attempt: 1 },
      { seq: 3, type: "retry_scheduled", attempt: 1 },
    ]);
    expect(await readJob(id)).toMatchObject({ status: "pending", last_seq: 3, error: "boom", completed_at: null });
  });

  it("reports no clash for events of unknown jobs", async () => {
    const ghost = uuidv7();
    const res = await appendEvents(f.pool, [started(ghost, 2, 1)]);
    expect(res).toEqual({ appended: 0, moved: 0, unknownJobIds: [ghost], clashingEvents: [] });
  });

  it("reports an event clashing with one a concurrent batch recorded after its snapshot, counting nothing for it", async () => {
    const id = await newJob();
    await appendEvents(f.pool, [started(id, 2, 1)]);
    const holder = await f.pool.connect();
    let racing: ReturnType<typeof appendEvents>;
    try {
      await holder.query("BEGIN");
      await appendEvents(holder, [retried(id, 3, 1)]);
      // The racing statement takes its snapshot, then waits for the job's row lock.
      racing = appendEvents(f.pool, [{ ...retried(id, 3, 2), workerId: "w-racing" }, started(id, 4, 2)]);
      await waitForLockWaiter(f.pool);
      await holder.query("COMMIT");
    } finally {
      holder.release();
    }
    expect(await racing).toEqual({ appended: 1, moved: 1, unknownJobIds: [], clashingEvents: [{ jobId: id, seq: 3 }] });
    expect((await trail(id)).map((e: { type: string }) => e.type)).toEqual(["submitted", "started", "retry_scheduled", "started"]);
    expect(await failedCount("w-racing")).toBeNull();
  });
});
