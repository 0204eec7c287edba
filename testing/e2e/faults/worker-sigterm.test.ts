import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFaultStack, type FaultStack } from "./fault-stack.js";
import { expectInvariants } from "./invariants.js";

/** How long a stopping worker lets its jobs finish, in ms. */
const GRACE_MS = 1_500;
/** Long enough that a job handed back only at lease expiry would stand out. */
const LEASE_MS = 10_000;

let fs: FaultStack;

beforeAll(async () => {
  fs = await startFaultStack({
    workers: 1,
    worker: { SHUTDOWN_GRACE_MS: String(GRACE_MS) },
    scheduler: { LEASE_MS: String(LEASE_MS) },
  });
});

afterAll(async () => {
  await fs?.close();
});

describe("fault: a worker is asked to stop (SIGTERM) with jobs in flight", () => {
  it("finishes the short jobs and hands the long ones back at once to another worker", async () => {
    const [leaving] = fs.stack.workers;
    const short = await Promise.all([300, 400, 500].map((ms) => fs.submit({ type: "sleep", payload: { ms } })));
    const long = await Promise.all([1, 2, 3].map(() => fs.submit({ type: "sleep", payload: { ms: 4_000 } })));
    const all = [...short, ...long];
    await fs.untilLogged(all);
    const staying = await fs.addWorker();
    const termAt = Date.now();
    await leaving!.stop("SIGTERM");

    const facts = await expectInvariants(fs, { acked: all.map((j) => j.id) });
    const log = await fs.executions();
    for (const job of short) {
      expect(facts.get(job.id)!.trail.map((e) => e.type)).toEqual(["submitted", "started", "completed"]);
      expect(log.filter((r) => r.job_id === job.id).map((r) => [r.event, r.pid])).toEqual([
        ["start", leaving!.pid],
        ["finish", leaving!.pid],
      ]);
    }
    for (const job of long) {
      const f = facts.get(job.id)!;
      expect(f.status).toBe("completed");
      expect(f.trail.map((e) => e.type)).toEqual(["submitted", "started", "released", "started", "completed"]);
      const runs = log.filter((r) => r.job_id === job.id);
      expect(runs.map((r) => [r.event, r.pid, r.reason])).toEqual([
        ["start", leaving!.pid, undefined],
        ["abort", leaving!.pid, "shutdown"],
        ["start", staying.pid, undefined],
        ["finish", staying.pid, undefined],
      ]);
      // Handed back after the grace, not after the lease: the other worker had it within seconds.
      expect(runs[2]!.at - termAt).toBeLessThan(GRACE_MS + 3_000);
    }
  }, 60_000);
});
