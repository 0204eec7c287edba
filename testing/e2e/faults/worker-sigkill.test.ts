import { JobStatus } from "@taskflow/client";
import { eventually } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFaultStack, type FaultStack } from "./fault-stack.js";
import { expectInvariants, withoutLapses } from "./invariants.js";

let fs: FaultStack;

beforeAll(async () => {
  fs = await startFaultStack({ workers: 2 });
});

afterAll(async () => {
  await fs?.close();
});

describe("fault: a worker is killed (SIGKILL) mid-job", () => {
  it("runs its jobs again on the other worker once their leases expire, and completes them", async () => {
    const long = await fs.submit({ type: "sleep", payload: { ms: 3_000 }, maxAttempts: 10 });
    const others = await Promise.all(
      Array.from({ length: 20 }, (_, i) => fs.submit({ type: "sleep", payload: { ms: 200 + 50 * i } })),
    );
    const first = await eventually(async () => (await fs.executions()).find((r) => r.job_id === long.id));
    const victim = fs.stack.workers.find((w) => w.pid === first.pid)!;
    const survivor = fs.stack.workers.find((w) => w !== victim)!;
    const killedAt = Date.now();
    await victim.stop("SIGKILL");

    const done = await fs.client.waitFor(long.id, { timeoutMs: 20_000 });
    expect(done.status).toBe(JobStatus.COMPLETED);
    const facts = await expectInvariants(fs, { acked: [long, ...others].map((j) => j.id) });

    const trail = withoutLapses(facts.get(long.id)!.trail, 3);
    expect(trail.map((e) => [e.type, e.attempt])).toEqual([
      ["submitted", 0],
      ["started", 1],
      ["lease_expired", 1],
      ["started", 2],
      ["completed", trail[4]!.attempt],
    ]);
    expect(trail[1]!.worker_id).toBe(first.worker_id);
    expect(trail[3]!.worker_id).not.toBe(first.worker_id);
    const runs = (await fs.executions()).filter((r) => r.job_id === long.id && r.event === "start");
    expect(runs.slice(0, 2).map((r) => r.pid)).toEqual([victim.pid, survivor.pid]);
    // Recovery within lease (1 s) + sweep (0.1 s), with room for a loaded machine.
    expect(runs[1]!.at - killedAt).toBeLessThan(4_000);
    // Jobs the victim held ran again (the invariants bound how often); no other job ran twice.
    for (const job of others) {
      const f = facts.get(job.id)!;
      expect(f.status).toBe("completed");
      if (!f.trail.some((e) => e.type === "lease_expired")) expect(f.executions).toBe(1);
    }
  }, 60_000);
});
