import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, makeEvent, makeJob, setupDatabase, waitForLockWaiter } from "../../../test/fixtures.js";
import type { Queryable } from "../queryable.js";
import { appendEvents } from "./append-events.js";
import { readAuditTrail } from "./export-audit-trail.js";
import { STATS_TOP_ERRORS_FILTERED_SQL } from "./get-stats.js";
import { insertJobs } from "./insert-jobs.js";
import { listJobEvents } from "./list-job-events.js";
import { reopenJobs } from "./reopen-jobs.js";

/**
 * Partition upkeep and retention lock the parents jobs, then job_events, in ACCESS EXCLUSIVE mode
 * (creating or dropping a day's partitions of both). A statement of history that locked
 * job_events first could hold it while waiting for jobs, with the DDL holding jobs and waiting
 * for job_events: a cycle PostgreSQL breaks by failing one of them. Each statement that touches
 * both parents is run here while a session holds jobs; that session must then get job_events
 * too, and the statement must finish once it lets go.
 */
describe("every statement that touches both parents locks jobs before job_events", () => {
  let f: DbFixture;
  let failedJob: string;
  let runningJob: string;

  beforeAll(async () => {
    f = await setupDatabase();
    const [failed, running] = await insertJobs(f.pool, [makeJob(), makeJob()]);
    failedJob = failed!.id;
    runningJob = running!.id;
    await appendEvents(f.pool, [
      makeEvent(failedJob, { seq: 2, type: "started", status: "processing", attempt: 1 }),
      makeEvent(failedJob, { seq: 3, type: "failed", status: "failed", attempt: 1, error: "boom" }),
    ]);
  });
  afterAll(async () => {
    await f?.close();
  });

  async function takesJobsFirst(statement: (db: Queryable) => Promise<unknown>): Promise<void> {
    const ddl = new pg.Client({ connectionString: f.db.url });
    const session = new pg.Client({ connectionString: f.db.url });
    await Promise.all([ddl.connect(), session.connect()]);
    try {
      await ddl.query("BEGIN");
      await ddl.query("LOCK TABLE ONLY jobs IN ACCESS EXCLUSIVE MODE");
      const running = statement(session).then(
        () => "finished",
        (err: unknown) => `failed: ${String(err)}`,
      );
      await waitForLockWaiter(f.pool);
      // Longer than deadlock_timeout (1 s): a cycle would be found and broken before it runs out.
      await ddl.query("SET LOCAL lock_timeout = '3s'");
      const second = await ddl.query("LOCK TABLE ONLY job_events IN ACCESS EXCLUSIVE MODE").then(
        () => "locked",
        (err: unknown) => `failed: ${String(err)}`,
      );
      await ddl.query(second === "locked" ? "COMMIT" : "ROLLBACK");
      expect({ second, statement: await running }).toEqual({ second: "locked", statement: "finished" });
    } finally {
      await Promise.all([ddl.end(), session.end()]);
    }
  }

  const day = { start: new Date("2029-12-31T00:00:00Z"), end: new Date("2030-01-02T00:00:00Z") };

  it("ExportAuditTrail's page", async () => {
    await takesJobsFirst(async (db) => {
      const pages = [];
      for await (const rows of readAuditTrail(db, { ...day, types: [], queues: [] }, { batchSize: 100 })) pages.push(rows);
      expect(pages.flat().map((r) => r.type)).toContain("failed");
    });
  });

  it("GetStats' top errors of some types", async () => {
    await takesJobsFirst(async (db) => {
      const { rows } = await db.query<{ error: string }>({
        text: STATS_TOP_ERRORS_FILTERED_SQL,
        values: [day.start, day.end, ["email.send"], [], 5],
      });
      expect(rows.map((r) => r.error)).toEqual(["boom"]);
    });
  });

  it("ListJobEvents", async () => {
    await takesJobsFirst(async (db) => {
      expect((await listJobEvents(db, { jobId: failedJob, afterSeq: 0, limit: 10 }))?.map((e) => e.seq)).toEqual([1, 2, 3]);
    });
  });

  it("InsertJobs", async () => {
    await takesJobsFirst(async (db) => {
      expect(await insertJobs(db, [makeJob()])).toHaveLength(1);
    });
  });

  it("AppendEvents", async () => {
    await takesJobsFirst(async (db) => {
      const result = await appendEvents(db, [makeEvent(runningJob, { seq: 2, type: "started", status: "processing", attempt: 1 })]);
      expect(result).toMatchObject({ appended: 1, moved: 1 });
    });
  });

  it("ReopenJobs", async () => {
    await takesJobsFirst(async (db) => {
      const result = await reopenJobs(db, [failedJob], { actor: "api:test", action: "job.retry", target: failedJob, details: {} });
      expect(result.reopened.map((j) => j.id)).toEqual([failedJob]);
    });
  });
});
