import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DbFixture, makeJob, setupDatabase, uuidv7 } from "../../../test/fixtures.js";
import { type AuditEventRow, type AuditTrailQuery, readAuditTrail } from "./export-audit-trail.js";
import { insertJobs } from "./insert-jobs.js";

/** An instant of 2030-08-0d at h:m:s and `us` microseconds, as PostgreSQL text and as µs since 1970. */
function at(d: number, h: number, m: number, s: number, us = 0): { text: string; us: bigint } {
  const ms = Date.UTC(2030, 7, d, h, m, s);
  const text = `${new Date(ms).toISOString().slice(0, 19)}.${String(us).padStart(6, "0")}Z`;
  return { text, us: BigInt(ms) * 1000n + BigInt(us) };
}

interface Trail {
  job: string;
  seq: number;
  at: { text: string; us: bigint };
}

describe("readAuditTrail", () => {
  let f: DbFixture;
  const job = new Map<string, string>();
  /** Every event of the file, submitted ones included. */
  const trail: Trail[] = [];

  const range = { start: at(1, 12, 0, 0), end: at(3, 12, 0, 0) };
  const q = (over: Partial<AuditTrailQuery> = {}): AuditTrailQuery => ({
    start: new Date(Number(range.start.us / 1000n)),
    end: new Date(Number(range.end.us / 1000n)),
    types: [],
    queues: [],
    ...over,
  });

  /** Every page of the walk, as (job key, seq) pairs. */
  async function pages(query: AuditTrailQuery, batchSize: number): Promise<string[][]> {
    const key = (r: AuditEventRow) => `${[...job].find(([, id]) => id === r.job_id)?.[0] ?? "?"}${r.seq}`;
    const out: string[][] = [];
    for await (const rows of readAuditTrail(f.pool, query, { batchSize })) out.push(rows.map(key));
    return out;
  }

  /** The trail's events in the range, in (occurred_at, job_id, seq) order, as "X2" keys. */
  function expected(keep: (t: Trail) => boolean = () => true): string[] {
    return trail
      .filter((t) => t.at.us >= range.start.us && t.at.us < range.end.us && keep(t))
      .sort((a, b) => (a.at.us !== b.at.us ? (a.at.us < b.at.us ? -1 : 1) : a.job !== b.job ? ((job.get(a.job) as string) < (job.get(b.job) as string) ? -1 : 1) : a.seq - b.seq))
      .map((t) => `${t.job}${t.seq}`);
  }

  beforeAll(async () => {
    f = await setupDatabase();
    await f.pool.query("SELECT taskflow_ensure_partitions('2030-08-01', '2030-08-03')");
    // X: type a, queue q1; Y: type b, queue q2; Z: type a, queue q2. Created on three days.
    const specs = [
      { key: "X", type: "a", queue: "q1", created: at(1, 11, 0, 0) },
      { key: "Y", type: "b", queue: "q2", created: at(2, 11, 0, 0) },
      { key: "Z", type: "a", queue: "q2", created: at(3, 11, 0, 0) },
    ];
    for (const s of specs) job.set(s.key, uuidv7(Number(s.created.us / 1000n)));
    await insertJobs(f.pool, specs.map((s) => makeJob({ id: job.get(s.key) as string, type: s.type, queue: s.queue })));
    for (const s of specs) trail.push({ job: s.key, seq: 1, at: s.created });
    // Several events share an instant (ties on occurred_at, then on job_id), several sit a
    // microsecond apart, and the range ends fall exactly on events.
    const events: Trail[] = [
      { job: "X", seq: 2, at: range.start }, // at the start: inside
      { job: "X", seq: 3, at: at(1, 11, 59, 59, 999_999) }, // 1 µs before the start: outside
      { job: "X", seq: 4, at: at(1, 12, 0, 0, 1) },
      { job: "X", seq: 5, at: at(1, 12, 0, 0, 2) },
      { job: "Y", seq: 2, at: at(2, 11, 0, 0) }, // same instant as Y's submission
      { job: "Y", seq: 3, at: at(2, 11, 30, 0, 500) },
      { job: "Z", seq: 2, at: at(2, 11, 30, 0, 500) }, // ties with Y3 on occurred_at
      { job: "X", seq: 6, at: at(2, 11, 30, 0, 500) }, // and with X, an older job
      { job: "Z", seq: 3, at: at(3, 11, 59, 59, 999_999) }, // 1 µs before the end: inside
      { job: "Z", seq: 4, at: range.end }, // at the end: outside
      { job: "Y", seq: 4, at: at(3, 12, 0, 0, 1) },
    ];
    trail.push(...events);
    await f.pool.query(
      `INSERT INTO job_events (job_id, seq, type, status, actor, occurred_at)
       SELECT job_id, seq, 'released', 'pending', 'scheduler:test', occurred_at
       FROM unnest($1::uuid[], $2::int[], $3::timestamptz[]) AS e(job_id, seq, occurred_at)`,
      [events.map((e) => job.get(e.job)), events.map((e) => e.seq), events.map((e) => e.at.text)],
    );
  });
  afterAll(async () => {
    await f?.close();
  });

  it("walks the range in (occurred_at, job_id, seq) order, whatever the page size", async () => {
    const all = expected();
    expect(all).toHaveLength(10);
    for (const size of [1, 2, 3, 100]) {
      const got = await pages(q(), size);
      expect(got.flat()).toEqual(all);
      expect(got.map((p) => p.length)).toEqual(Array.from({ length: Math.ceil(all.length / size) }, (_, i) => Math.min(size, all.length - i * size)));
    }
  });

  it("keeps microsecond positions: no event is sent twice or skipped across pages", async () => {
    // X4 and X5 sit 1 µs after the start and after each other; Y3, Z2 and X6 share an instant.
    const got = (await pages(q(), 1)).flat();
    expect(got.slice(0, 3)).toEqual(["X2", "X4", "X5"]);
    expect(new Set(got).size).toBe(got.length);
  });

  it("filters through the job's type and queue", async () => {
    const type = (t: Trail) => (t.job === "Y" ? "b" : "a");
    const queue = (t: Trail) => (t.job === "X" ? "q1" : "q2");
    expect((await pages(q({ types: ["a"] }), 2)).flat()).toEqual(expected((t) => type(t) === "a"));
    expect((await pages(q({ queues: ["q2"] }), 2)).flat()).toEqual(expected((t) => queue(t) === "q2"));
    expect((await pages(q({ types: ["a", "c"], queues: ["q2"] }), 2)).flat()).toEqual(expected((t) => t.job === "Z"));
    expect(await pages(q({ types: ["c"] }), 2)).toEqual([]);
  });

  it("carries the job's type and queue on each row", async () => {
    const rows: AuditEventRow[] = [];
    for await (const page of readAuditTrail(f.pool, q({ queues: ["q1"] }), { batchSize: 100 })) rows.push(...page);
    expect(rows.map((r) => [r.job_id, r.job_type, r.job_queue])).toEqual(rows.map(() => [job.get("X"), "a", "q1"]));
    expect(rows.map((r) => r.seq)).toEqual([2, 4, 5, 6]);
  });

  it("stops before the next statement once its signal is aborted", async () => {
    const abort = new AbortController();
    const seen: number[] = [];
    const walk = async () => {
      for await (const rows of readAuditTrail(f.pool, q(), { batchSize: 2, signal: abort.signal })) {
        seen.push(rows.length);
        abort.abort(new Error("client went away"));
      }
    };
    await expect(walk()).rejects.toThrow("client went away");
    expect(seen).toEqual([2]);
  });
});
