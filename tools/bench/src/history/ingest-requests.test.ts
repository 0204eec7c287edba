import { describe, expect, it } from "vitest";
import { generateJobs } from "./generate-jobs.js";
import { appendRequests, insertRequests } from "./ingest-requests.js";

const jobs = [...generateJobs({ seed: 7, jobs: 40, days: 1, endMs: Date.UTC(2026, 11, 7) })];
const laterEvents = jobs.reduce((n, j) => n + j.events.length - 1, 0);

describe("ingest requests", () => {
  it("inserts every job once, in batches of the given size", () => {
    const reqs = insertRequests(jobs, 15);
    expect(reqs.map((r) => r.jobs?.length)).toEqual([15, 15, 10]);
    expect(reqs.flatMap((r) => r.jobs?.map((j) => j.id))).toEqual(jobs.map((j) => j.id));
  });

  it("together: sends every later transition once, each job's in one request, at most max events a request", () => {
    const reqs = appendRequests(jobs, 20, 9, "together");
    const events = reqs.flatMap((r) => r.events ?? []);
    expect(events).toHaveLength(laterEvents);
    expect(events.some((e) => e.seq === 1)).toBe(false);
    for (const r of reqs) expect(r.events?.length).toBeLessThanOrEqual(9);
    for (const j of jobs) expect(new Set(reqs.filter((r) => r.events?.some((e) => e.jobId === j.id))).size).toBe(1);
  });

  it("apart: one transition of a job per request, its started before its end", () => {
    const reqs = appendRequests(jobs, 20, 500, "apart");
    expect(reqs.flatMap((r) => r.events ?? [])).toHaveLength(laterEvents);
    for (const r of reqs) {
      const ids = (r.events ?? []).map((e) => e.jobId);
      expect(new Set(ids).size).toBe(ids.length);
    }
    for (const j of jobs) {
      const seqs = reqs.flatMap((r) => (r.events ?? []).filter((e) => e.jobId === j.id).map((e) => e.seq));
      expect(seqs).toEqual([...seqs].sort((a, b) => (a ?? 0) - (b ?? 0)));
    }
  });
});
