import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, makeEvent, makeJob, setupDatabase } from "../../../test/fixtures.js";
import { endPool } from "../pool.js";
import { appendEvents, type NewJobEvent } from "./append-events.js";
import { insertJobs } from "./insert-jobs.js";

const JOBS = 200;
/** Statements each replica runs at once, each on its own connection. */
const LANES = 3;
/** Batches each lane applies, back to back. */
const BATCHES = 8;

/**
 * One event for each of `ids`, all of seq `seq`: no other batch uses that seq, so the event
 * inserts of two batches never conflict and both reach the job rows, which every event moves.
 * Odd seqs are retries, which count a failed attempt for the replica's worker.
 */
function batch(ids: readonly string[], seq: number, worker: string): NewJobEvent[] {
  const at = { seq, attempt: seq, workerId: worker, occurredAt: new Date(seq * 1000) };
  return ids.map((id) =>
    seq % 2 === 0
      ? makeEvent(id, { ...at, type: "started", status: "processing" })
      : makeEvent(id, { ...at, type: "retry_scheduled", status: "pending", error: "boom" }),
  );
}

describe("appendEvents from two replicas at once", () => {
  let f: DbFixture;
  let replicas: pg.Pool[];
  beforeAll(async () => {
    f = await setupDatabase();
    replicas = [0, 1].map(() => new pg.Pool({ connectionString: f.db.url, max: LANES }));
  });
  afterAll(async () => {
    await Promise.all((replicas ?? []).map((p) => endPool(p)));
    await f?.close();
  });

  it("applies overlapping batches of the same jobs in opposite orders, none failing with a deadlock", async () => {
    const jobs = Array.from({ length: JOBS }, () => makeJob());
    await insertJobs(f.pool, jobs);
    const ids = jobs.map((j) => j.id);
    // Replica 0 sends the first three quarters in id order, replica 1 the last three quarters in
    // reverse: half the jobs are in every batch of both, met in opposite orders. Batches follow
    // each other without a pause, so statements start with snapshots that saw different commits
    // and the plans visit the rows in different physical orders.
    const sets = [ids.slice(0, (JOBS * 3) / 4), ids.slice(JOBS / 4).reverse()] as const;
    let nextSeq = 2;
    const retries = [0, 0];
    const failures: string[] = [];
    const lane = async (replica: 0 | 1) => {
      for (let i = 0; i < BATCHES; i += 1) {
        const seq = nextSeq++;
        if (seq % 2 === 1) retries[replica]! += sets[replica].length;
        await appendEvents(replicas[replica]!, batch(sets[replica], seq, `w${replica}`)).catch((e: { code?: string; message?: string }) => {
          failures.push(`${e.code}: ${e.message}`);
        });
      }
    };
    await Promise.all(Array.from({ length: LANES }, () => [lane(0), lane(1)]).flat());
    expect(failures).toEqual([]);

    const { rows } = await f.pool.query<{ events: number; at_newest: number; w0: string; w1: string }>(
      `SELECT (SELECT count(*)::int FROM job_events WHERE job_id = ANY($1)) AS events,
              (SELECT count(*)::int FROM jobs WHERE id = ANY($1) AND last_seq = attempts
                 AND status = CASE WHEN last_seq % 2 = 0 THEN 'processing' ELSE 'pending' END) AS at_newest,
              (SELECT sum(failed)::text FROM worker_outcome_counts WHERE worker_id = 'w0') AS w0,
              (SELECT sum(failed)::text FROM worker_outcome_counts WHERE worker_id = 'w1') AS w1`,
      [ids],
    );
    const perReplica = LANES * BATCHES;
    expect(rows[0]).toEqual({
      events: JOBS + perReplica * (sets[0].length + sets[1].length),
      at_newest: JOBS,
      w0: String(retries[0]),
      w1: String(retries[1]),
    });
  });

  it("records resent events once and counts each outcome once when both replicas apply them at once", async () => {
    const jobs = Array.from({ length: JOBS }, () => makeJob());
    await insertJobs(f.pool, jobs);
    const ids = jobs.map((j) => j.id);
    const sets = [ids.slice(0, (JOBS * 3) / 4), ids.slice(JOBS / 4).reverse()] as const;
    // Every lane of both replicas sends the same events (seq 2, 3, ... of one shared worker), as
    // forwarders resending after a timeout would: the event inserts of concurrent statements
    // meet on the same (job_id, seq) and the outcome counts on the same worker.
    const failures: string[] = [];
    const lane = async (replica: 0 | 1) => {
      for (let i = 0; i < BATCHES; i += 1) {
        await appendEvents(replicas[replica]!, batch(sets[replica], 2 + i, "w-shared")).catch((e: { code?: string; message?: string }) => {
          failures.push(`${e.code}: ${e.message}`);
        });
      }
    };
    await Promise.all(Array.from({ length: LANES }, () => [lane(0), lane(1)]).flat());
    expect(failures).toEqual([]);

    const { rows } = await f.pool.query<{ events: number; at_newest: number; failed: string }>(
      `SELECT (SELECT count(*)::int FROM job_events WHERE job_id = ANY($1)) AS events,
              (SELECT count(*)::int FROM jobs WHERE id = ANY($1) AND last_seq = $2 AND attempts = $2) AS at_newest,
              (SELECT sum(failed)::text FROM worker_outcome_counts WHERE worker_id = 'w-shared') AS failed`,
      [ids, BATCHES + 1],
    );
    expect(rows[0]).toEqual({ events: JOBS * (1 + BATCHES), at_newest: JOBS, failed: String((JOBS * BATCHES) / 2) });
  });
});
