import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { resolveOptions } from "./resolve-options.js";

const base = { scheduler: "http://127.0.0.1:50051", queues: ["default"], handlers: {} };

describe("resolveOptions", () => {
  it("fills in the documented defaults", () => {
    const s = resolveOptions(base);
    expect(s).toMatchObject({
      concurrency: 10,
      leaseWaitMs: 10_000,
      shutdownGraceMs: 25_000,
      abortWaitMs: 5_000,
      handleSignals: false,
      reportBatchMs: 5,
    });
    expect(s.workerId.startsWith(`${hostname()}-${process.pid}-`)).toBe(true);
  });

  it("gives each worker of a process its own id", () => {
    expect(resolveOptions(base).workerId).not.toBe(resolveOptions(base).workerId);
  });

  it("names every bad option at once", () => {
    expect(() =>
      resolveOptions({ ...base, scheduler: "nope", queues: [], concurrency: 0, leaseWaitMs: 120_000, abortWaitMs: 60_001 }),
    ).toThrow(/concurrency.*leaseWaitMs.*abortWaitMs.*queues.*scheduler/);
  });
});
