import type { ExecRecord } from "@taskflow/testkit";
import { describe, expect, it } from "vitest";
import { attributeDuplicates, countDuplicates, extraRuns } from "./settle.js";

/** Log lines of one job: `event`s in order, as the fixture worker writes them. */
function runs(jobId: string, ...events: ExecRecord["event"][]): ExecRecord[] {
  return events.map((event, i) => ({ event, job_id: jobId, type: "echo", attempt: i + 1, worker_id: "w", pid: 1, at: i }));
}

describe("extraRuns and countDuplicates", () => {
  it("count the starts beyond one per job, less the attempts a flaky job failed on purpose", () => {
    const log = [
      ...runs("once", "start", "finish"),
      ...runs("thrice", "start", "abort", "start", "start", "finish"),
      // Two planned failures, then success: three runs, all meant.
      ...runs("flaky", "start", "fail", "start", "fail", "start", "finish"),
      // One planned failure, and one run more than planned.
      ...runs("flaky-again", "start", "fail", "start", "start", "finish"),
      // Started once and killed: no run beyond the first.
      ...runs("killed", "start"),
    ];
    expect(extraRuns(log)).toEqual(new Map([["thrice", 2], ["flaky-again", 1]]));
    expect(countDuplicates(log)).toBe(3);
  });

  it("count nothing for an empty log", () => {
    expect(countDuplicates([])).toBe(0);
  });
});

describe("attributeDuplicates", () => {
  it("explains each extra run by one lease expiry, then one restore, and puts the rest on the lost outbox", () => {
    const extra = new Map([
      ["expired-twice", 2],
      ["expired-then-restored", 2],
      ["untold", 1],
      ["restored-once", 3],
    ]);
    const trail = new Map([
      ["expired-twice", { expired: 5, restored: 0 }],
      ["expired-then-restored", { expired: 1, restored: 4 }],
      ["restored-once", { expired: 0, restored: 1 }],
    ]);
    const causes = attributeDuplicates(extra, trail);
    expect(causes).toEqual({ lease_expired: 3, restored_after_redis_loss: 2, outbox_lost_with_redis: 3 });
    // Every extra run has exactly one cause.
    const total = causes.lease_expired + causes.restored_after_redis_loss + causes.outbox_lost_with_redis;
    expect(total).toBe([...extra.values()].reduce((a, b) => a + b, 0));
  });

  it("finds no cause where there was no extra run, whatever the trail holds", () => {
    expect(attributeDuplicates(new Map(), new Map([["x", { expired: 3, restored: 3 }]]))).toEqual({
      lease_expired: 0,
      restored_after_redis_loss: 0,
      outbox_lost_with_redis: 0,
    });
  });
});
