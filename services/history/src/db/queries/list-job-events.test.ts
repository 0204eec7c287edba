import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, makeEvent, makeJob, setupDatabase, uuidv7 } from "../../../test/fixtures.js";
import type { JobRow } from "../rows.js";
import { appendEvents } from "./append-events.js";
import { insertJobs } from "./insert-jobs.js";
import { listJobEvents } from "./list-job-events.js";

describe("listJobEvents", () => {
  let f: DbFixture;
  let jobId: string;

  beforeAll(async () => {
    f = await setupDatabase();
    const [job] = await insertJobs(f.pool, [makeJob()]);
    jobId = (job as JobRow).id;
    const events = [];
    for (let seq = 2; seq <= 11; seq += 1) {
      const started = seq % 2 === 0;
      events.push(
        makeEvent(jobId, {
          seq,
          type: started ? "started" : "retry_scheduled",
          status: started ? "processing" : "pending",
          attempt: Math.floor(seq / 2),
          workerId: "w1",
          error: started ? null : `error ${seq}`,
        }),
      );
    }
    // Stored out of order; listing still follows seq.
    await appendEvents(f.pool, events.reverse());
  });
  afterAll(async () => {
    await f?.close();
  });

  it("lists the trail oldest first", async () => {
    const rows = await listJobEvents(f.pool, { jobId, afterSeq: 0, limit: 100 });
    expect(rows?.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(rows?.[0]).toMatchObject({ job_id: jobId, type: "submitted", actor: "api" });
    expect(rows?.[2]).toMatchObject({ type: "retry_scheduled", error: "error 3", attempt: 1, worker_id: "w1" });
  });

  it.each([1, 2, 4, 11])("pages by seq in pages of %i", async (limit) => {
    const seen: number[] = [];
    let afterSeq = 0;
    for (;;) {
      const page = (await listJobEvents(f.pool, { jobId, afterSeq, limit })) ?? [];
      seen.push(...page.map((r) => r.seq));
      if (page.length < limit) break;
      afterSeq = page.at(-1)?.seq ?? 0;
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it("gives an empty page past the last event", async () => {
    expect(await listJobEvents(f.pool, { jobId, afterSeq: 11, limit: 5 })).toEqual([]);
  });

  it("tells an unknown job apart", async () => {
    expect(await listJobEvents(f.pool, { jobId: uuidv7(), afterSeq: 0, limit: 5 })).toBeUndefined();
  });
});
