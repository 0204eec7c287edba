import { describe, expect, it } from "vitest";
import { CUSTOMERS, ERRORS, JOB_TYPES, QUEUES, REGIONS, WORKERS } from "./catalog.js";
import { BLOCK_SIZE, DAY_MS, type GeneratedJob, generateJobs, type LoadPlan, timeline } from "./generate-jobs.js";
import { VOCABULARY, VOCABULARY_SIZE } from "./vocabulary.js";

const PLAN: LoadPlan = { seed: 7, jobs: 30_000, days: 3, endMs: Date.UTC(2030, 0, 10, 12, 0, 0) };
const ALL = [...generateJobs(PLAN)];

/** Milliseconds in a UUIDv7's first 48 bits. */
const idMs = (id: string): number => Number.parseInt(id.replace(/-/g, "").slice(0, 12), 16);
const share = (pred: (j: GeneratedJob) => boolean): number => ALL.filter(pred).length / ALL.length;

describe("generateJobs: determinism", () => {
  it("generates the same jobs for the same plan", () => {
    expect([...generateJobs(PLAN, 0, 5_000)]).toEqual(ALL.slice(0, 5_000));
  });

  it("generates other jobs for another seed", () => {
    const other = [...generateJobs({ ...PLAN, seed: 8 }, 0, 100)];
    expect(other.map((j) => j.payload)).not.toEqual(ALL.slice(0, 100).map((j) => j.payload));
  });

  it("generates any range alone exactly as the whole pass does", () => {
    const from = BLOCK_SIZE + 123;
    expect([...generateJobs(PLAN, from, from + 2 * BLOCK_SIZE)]).toEqual(ALL.slice(from, from + 2 * BLOCK_SIZE));
    expect([...generateJobs(PLAN, PLAN.jobs - 10)]).toEqual(ALL.slice(-10));
  });
});

describe("generateJobs: ids and times", () => {
  const tl = timeline(PLAN);

  it("gives every job a UUIDv7 of its creation millisecond, strictly ascending", () => {
    const uuidV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const bad = ALL.filter((j, i) => j.index !== i || !uuidV7.test(j.id) || idMs(j.id) !== j.createdMs || (i > 0 && j.id <= (ALL[i - 1] as GeneratedJob).id));
    expect(bad.map((j) => j.id)).toEqual([]);
  });

  it("creates the jobs across the whole time frame and nothing happens after its end", () => {
    expect((ALL[0] as GeneratedJob).createdMs).toBeLessThan(tl.startMs + 60_000);
    expect((ALL.at(-1) as GeneratedJob).createdMs).toBeGreaterThan(tl.endMs - 60_000);
    const bad = ALL.filter((j) => j.createdMs < tl.startMs || j.events.some((e) => e.occurredMs >= tl.endMs));
    expect(bad.map((j) => j.id)).toEqual([]);
  });

  it("refuses a plan with more jobs than milliseconds", () => {
    expect(() => timeline({ ...PLAN, jobs: DAY_MS + 1, days: 1 })).toThrow();
    expect(() => timeline({ ...PLAN, jobs: 0 })).toThrow();
  });
});

describe("generateJobs: the mix", () => {
  it("is about 90 % completed, 5 % failed, 2 % cancelled and 3 % unfinished", () => {
    expect(share((j) => j.status === "completed")).toBeCloseTo(0.9, 1);
    expect(Math.abs(share((j) => j.status === "failed") - 0.05)).toBeLessThan(0.006);
    expect(Math.abs(share((j) => j.status === "cancelled") - 0.02)).toBeLessThan(0.004);
    expect(Math.abs(share((j) => j.status === "pending" || j.status === "processing") - 0.03)).toBeLessThan(0.004);
  });

  it("leaves only the newest jobs unfinished", () => {
    const firstUnfinished = ALL.findIndex((j) => j.status === "pending" || j.status === "processing");
    expect(firstUnfinished).toBeGreaterThanOrEqual(timeline(PLAN).recentFrom);
  });

  it("keeps running jobs among the newest, within the workers' concurrency", () => {
    const running = ALL.filter((j) => j.status === "processing");
    expect(running.length).toBeGreaterThan(50);
    expect(Math.min(...running.map((j) => j.index))).toBeGreaterThanOrEqual(timeline(PLAN).runningFrom);
    const perWorker = new Map<string, number>();
    for (const j of running) if (j.workerId !== null) perWorker.set(j.workerId, (perWorker.get(j.workerId) ?? 0) + 1);
    for (const w of WORKERS) expect(perWorker.get(w.id) ?? 0).toBeLessThanOrEqual(w.concurrency);
  });

  it("uses every type and queue, a few types most", () => {
    const byType = new Map<string, number>();
    for (const j of ALL) byType.set(j.type, (byType.get(j.type) ?? 0) + 1);
    expect(byType.size).toBe(JOB_TYPES.length);
    expect((byType.get("notification.email") ?? 0) / ALL.length).toBeGreaterThan(0.2);
    expect(new Set(ALL.map((j) => j.queue))).toEqual(new Set(QUEUES));
  });

  it("draws a few errors far more often than the rest", () => {
    const errors = ALL.flatMap((j) => (j.error === null ? [] : [j.error]));
    expect(new Set(errors).size).toBeGreaterThan(20);
    expect(errors.filter((e) => e === ERRORS[0]).length / errors.length).toBeGreaterThan(0.2);
  });

  it("fills payloads with customers, addresses, amounts, regions and notes of vocabulary words", () => {
    const words = new Set(VOCABULARY);
    for (const { payload } of ALL.slice(0, 2_000)) {
      expect(payload.customer_id).toBeGreaterThanOrEqual(1);
      expect(payload.customer_id).toBeLessThanOrEqual(CUSTOMERS);
      expect(payload.email).toBe(`customer${payload.customer_id}@${payload.email.split("@")[1]}`);
      expect(payload.amount).toBeGreaterThan(0);
      expect(REGIONS).toContain(payload.region);
      const note = payload.note.split(" ");
      expect(note.length).toBeGreaterThanOrEqual(3);
      expect(note.length).toBeLessThanOrEqual(12);
      for (const w of note) expect(words.has(w)).toBe(true);
    }
  });

  it("keeps attempts from 1 to 3, failed jobs at their maximum", () => {
    const bad = ALL.filter((j) => j.attempts < 1 || j.attempts > j.maxAttempts || j.maxAttempts > 3 || (j.status === "failed" && j.attempts !== j.maxAttempts));
    expect(bad.map((j) => j.id)).toEqual([]);
    expect(share((j) => j.attempts === 3)).toBeGreaterThan(0.03);
  });
});

describe("generateJobs: rows are the fold of their trails", () => {
  const workers = new Map(WORKERS.map((w) => [w.id, w]));

  it("numbers events from 1 in time order and moves the row to the last one", () => {
    const problems = ALL.flatMap((j) => {
      const last = j.events.at(-1);
      const [submitted, started] = j.events;
      const checks: [string, boolean][] = [
        ["seq", j.events.every((e, i) => e.seq === i + 1)],
        ["order", j.events.every((e, i) => i === 0 || e.occurredMs >= (j.events[i - 1]?.occurredMs ?? 0))],
        ["last_seq", j.lastSeq === j.events.length],
        ["status", last?.status === j.status],
        ["submitted", submitted?.type === "submitted" && submitted.attempt === 0 && submitted.occurredMs === j.createdMs],
        ["started", started?.type === "started" && started.attempt === j.attempts && started.workerId === j.workerId && started.occurredMs === j.startedMs],
        ["updated_at", j.updatedMs === last?.recordedMs],
        ["completed_at", j.completedMs === (["completed", "failed", "cancelled"].includes(j.status) ? last?.occurredMs : null)],
        ["error", j.error === (j.errorSeq === null ? null : j.events[j.errorSeq - 1]?.error)],
      ];
      return checks.filter(([, ok]) => !ok).map(([what]) => `${j.id}: ${what}`);
    });
    expect(problems).toEqual([]);
  });

  it("runs each job on a worker of its queue that was still registered", () => {
    const tl = timeline(PLAN);
    const bad = ALL.filter((j) => {
      const w = workers.get(j.workerId ?? "");
      return w?.queue !== j.queue || (w.fate === "gone" && j.startedMs !== null && j.startedMs >= tl.retireMs);
    });
    expect(bad.map((j) => j.id)).toEqual([]);
  });
});

describe("VOCABULARY", () => {
  it("holds 2,000 distinct lowercase words that appear nowhere else in the data", () => {
    expect(new Set(VOCABULARY).size).toBe(VOCABULARY_SIZE);
    const elsewhere = new Set([...ERRORS, ...REGIONS, ...JOB_TYPES.map((t) => t.name), ...QUEUES].flatMap((s) => s.split(/[^a-z]+/)));
    for (const w of VOCABULARY) {
      expect(w).toMatch(/^[a-z]+$/);
      expect(elsewhere.has(w)).toBe(false);
    }
  });
});
