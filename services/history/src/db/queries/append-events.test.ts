import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DbFixture,
  makeEvent,
  makeJob,
  setupDatabase,
  uuidv7,
  waitForLockWaiter,
} from "../../../test/fixtures.js";
import type { JobRow } from "../rows.js";
import { appendEvents, type NewJobEvent } from "./append-events.js";
import { insertJobs } from "./insert-jobs.js";

/** started → retry_scheduled → started → completed, as the scheduler reports it. */
function lifecycle(jobId: string): NewJobEvent[] {
  return [
    makeEvent(jobId, { seq: 2, type: "started", status: "processing", attempt: 1, workerId: "w1", actor: "worker:w1" }),
    makeEvent(jobId, {
      seq: 3,
      type: "retry_scheduled",
      status: "pending",
      attempt: 1,
      workerId: "w1",
      error: "boom",
      actor: "worker:w1",
      details: { retry_at: "2030-01-01T00:01:00.000Z" },
    }),
    makeEvent(jobId, { seq: 4, type: "started", status: "processing", attempt: 2, workerId: "w2", actor: "worker:w2" }),
    makeEvent(jobId, {
      seq: 5,
      type: "completed",
      status: "completed",
      attempt: 2,
      workerId: "w2",
      actor: "worker:w2",
      result: { sent: true, ids: [1, 2] },
    }),
  ];
}

const at = (seq: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, seq));

/** The row without what differs between two jobs built alike. */
function shape(row: JobRow | undefined) {
  const { id: _id, created_at: _c, updated_at: _u, ...rest } = row as JobRow;
  return rest;
}

describe("appendEvents", () => {
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
    (
      await f.pool.query(
        "SELECT seq, type, status, attempt, worker_id, error, actor, result, details, occurred_at FROM job_events WHERE job_id = $1 ORDER BY seq",
        [id],
      )
    ).rows;

  it("applies a full lifecycle", async () => {
    const id = await newJob();
    const res = await appendEvents(f.pool, lifecycle(id));
    expect(res).toEqual({ appended: 4, moved: 1, unknownJobIds: [], clashingEvents: [] });

    expect(await readJob(id)).toMatchObject({
      status: "completed",
      last_seq: 5,
      attempts: 2,
      started_at: at(4),
      completed_at: at(5),
      result: { sent: true, ids: [1, 2] },
      worker_id: "w2",
      error: "boom",
    });
    const events = await trail(id);
    expect(events.map((e) => e.type)).toEqual(["submitted", "started", "retry_scheduled", "started", "completed"]);
    expect(events[2]).toMatchObject({ error: "boom", details: { retry_at: "2030-01-01T00:01:00.000Z" }, actor: "worker:w1" });
    expect(events[4]).toMatchObject({ result: { sent: true, ids: [1, 2] }, occurred_at: at(5) });
  });

  it("changes nothing when the same batch is applied twice", async () => {
    const id = await newJob();
    await appendEvents(f.pool, lifecycle(id));
    const before = await readJob(id);
    const again = await appendEvents(f.pool, lifecycle(id));
    expect(again).toEqual({ appended: 0, moved: 0, unknownJobIds: [], clashingEvents: [] });
    expect(await readJob(id)).toEqual(before);
    expect(await trail(id)).toHaveLength(5);
  });

  it("gives the same row when the events come split over two batches in reverse order", async () => {
    const inOrder = await newJob();
    const reversed = await newJob();
    await appendEvents(f.pool, lifecycle(inOrder));
    const events = lifecycle(reversed).reverse();
    await appendEvents(f.pool, events.slice(0, 2));
    await appendEvents(f.pool, events.slice(2));
    expect(shape(await readJob(reversed))).toEqual(shape(await readJob(inOrder)));
    expect((await trail(reversed)).slice(1)).toEqual((await trail(inOrder)).slice(1));
  });

  it("gives the same row for every order of single-event batches", async () => {
    const reference = await newJob();
    await appendEvents(f.pool, lifecycle(reference));
    const expected = shape(await readJob(reference));
    for (const order of permutations([0, 1, 2, 3])) {
      const id = await newJob();
      const events = lifecycle(id);
      for (const i of order) await appendEvents(f.pool, [events[i] as NewJobEvent]);
      expect({ order, row: shape(await readJob(id)) }).toEqual({ order, row: expected });
    }
  });

  it.each([
    ["the first half", [0, 1], [2, 3]],
    ["the second half", [2, 3], [0, 1]],
  ])("loses nothing when a concurrent batch holds %s of the lifecycle", async (_, held, raced) => {
    const reference = await newJob();
    await appendEvents(f.pool, lifecycle(reference));
    const id = await newJob();
    const events = lifecycle(id);
    const holder = await f.pool.connect();
    try {
      await holder.query("BEGIN");
      await appendEvents(holder, held.map((i) => events[i] as NewJobEvent));
      // The racing statement takes its snapshot, then waits for the held row lock.
      const racing = appendEvents(f.pool, raced.map((i) => events[i] as NewJobEvent));
      await waitForLockWaiter(f.pool);
      await holder.query("COMMIT");
      await racing;
    } finally {
      holder.release();
    }
    expect(shape(await readJob(id))).toEqual(shape(await readJob(reference)));
  });

  it("never moves a completed job back on a later 'started'", async () => {
    const id = await newJob();
    await appendEvents(f.pool, lifecycle(id));
    const done = await readJob(id);
    const late = makeEvent(id, { seq: 6, type: "started", status: "processing", attempt: 3, workerId: "w3" });
    const res = await appendEvents(f.pool, [late]);
    expect(res).toEqual({ appended: 1, moved: 0, unknownJobIds: [], clashingEvents: [] });
    expect(await readJob(id)).toEqual(done);
  });

  it("finishes a job whose terminal event arrives after a stray later event", async () => {
    const id = await newJob();
    const [started, , , completed] = lifecycle(id).map((e) => ({ ...e }));
    const stray = makeEvent(id, { seq: 6, type: "started", status: "processing", attempt: 3, workerId: "w3" });
    await appendEvents(f.pool, [stray]);
    await appendEvents(f.pool, [started as NewJobEvent, completed as NewJobEvent]);
    expect(await readJob(id)).toMatchObject({ status: "completed", last_seq: 5, completed_at: at(5) });
  });

  it("records a failure for good with its error", async () => {
    const id = await newJob();
    await appendEvents(f.pool, [
      makeEvent(id, { seq: 2, type: "started", status: "processing", attempt: 1, workerId: "w1" }),
      makeEvent(id, { seq: 3, type: "failed", status: "failed", attempt: 1, workerId: "w1", error: "fatal" }),
    ]);
    expect(await readJob(id)).toMatchObject({
      status: "failed",
      error: "fatal",
      attempts: 1,
      completed_at: at(3),
      result: null,
      worker_id: "w1",
    });
  });

  it("cancels a pending job", async () => {
    const id = await newJob();
    await appendEvents(f.pool, [makeEvent(id, { seq: 2, type: "cancelled", status: "cancelled", actor: "api" })]);
    expect(await readJob(id)).toMatchObject({ status: "cancelled", completed_at: at(2), attempts: 0, last_seq: 2 });
  });

  it("skips and reports unknown jobs while applying the rest", async () => {
    const id = await newJob();
    const ghostA = uuidv7();
    const ghostB = uuidv7();
    const res = await appendEvents(f.pool, [
      makeEvent(ghostB, { seq: 2, type: "started", status: "processing", attempt: 1 }),
      makeEvent(id, { seq: 2, type: "started", status: "processing", attempt: 1, workerId: "w1" }),
      makeEvent(ghostA, { seq: 2, type: "started", status: "processing", attempt: 1 }),
      makeEvent(ghostA, { seq: 3, type: "completed", status: "completed", attempt: 1 }),
    ]);
    expect(res).toEqual({ appended: 1, moved: 1, unknownJobIds: [ghostA, ghostB].sort(), clashingEvents: [] });
    expect(await readJob(id)).toMatchObject({ status: "processing", attempts: 1, started_at: at(2), worker_id: "w1" });
    const { rows } = await f.pool.query("SELECT count(*) FROM job_events WHERE job_id = ANY($1)", [[ghostA, ghostB]]);
    expect(Number(rows[0].count)).toBe(0);
  });

  it("applies events of many jobs in one batch", async () => {
    const ids = await Promise.all(Array.from({ length: 50 }, () => newJob()));
    const res = await appendEvents(f.pool, ids.flatMap((id) => lifecycle(id)));
    expect(res).toMatchObject({ appended: 200, moved: 50 });
    const { rows } = await f.pool.query("SELECT DISTINCT status FROM jobs WHERE id = ANY($1)", [ids]);
    expect(rows).toEqual([{ status: "completed" }]);
  });
});

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((p) => [x, ...p]));
}
