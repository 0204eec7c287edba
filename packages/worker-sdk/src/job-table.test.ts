import { describe, expect, it } from "vitest";
import { JobTable } from "./job-table.js";
import { ProgressSlot } from "./progress-slot.js";
import type { ActiveJob } from "./start-job.js";

const job = (id: string): ActiveJob => ({
  job: {} as ActiveJob["job"],
  lease: { jobId: id, queue: "q", leaseToken: `t-${id}` },
  abort: () => false,
  abandon: () => false,
  outcome: new Promise(() => undefined),
  progress: new ProgressSlot(),
});

describe("JobTable", () => {
  it("counts free slots and wakes a waiter when a job leaves", async () => {
    const table = new JobTable(2);
    table.add(job("a"));
    table.add(job("b"));
    expect(table.freeSlots()).toBe(0);
    let woke = false;
    const waiting = table.whenSlotFree(new AbortController().signal).then(() => (woke = true));
    await Promise.resolve();
    expect(woke).toBe(false);
    table.remove("t-a");
    await waiting;
    expect(table.freeSlots()).toBe(1);
    expect(table.leases()).toEqual([{ jobId: "b", queue: "q", leaseToken: "t-b" }]);
  });

  it("stops waiting when the signal aborts", async () => {
    const table = new JobTable(1);
    table.add(job("a"));
    const controller = new AbortController();
    const waiting = table.whenEmpty(controller.signal);
    controller.abort();
    await waiting;
    expect(table.size).toBe(1);
  });

  it("tells removal listeners once per job that leaves, until they unsubscribe", () => {
    const table = new JobTable(3);
    table.add(job("a"));
    table.add(job("b"));
    let removed = 0;
    const off = table.onRemove(() => (removed += 1));
    table.remove("t-a");
    table.remove("t-a");
    expect(removed).toBe(1);
    off();
    table.remove("t-b");
    expect(removed).toBe(1);
    expect(table.size).toBe(0);
  });
});
