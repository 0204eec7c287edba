import { JobStatus } from "@taskflow/client";
import { superviseWorkers, type WorkerPool } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFaultStack, until, type FaultStack } from "./fault-stack.js";
import { expectInvariants } from "./invariants.js";
import { ackedIds, startSteadyLoad } from "./steady-load.js";

let fs: FaultStack;
let pool: WorkerPool;

beforeAll(async () => {
  fs = await startFaultStack({ workers: 0 });
  pool = await superviseWorkers(2, () => fs.addWorker());
});

afterAll(async () => {
  await pool?.stop();
  await fs?.close();
});

describe("fault: a poison job kills every worker process that runs it", () => {
  it("fails after max_attempts while the supervised pool keeps serving other jobs", async () => {
    const load = startSteadyLoad({
      submit: fs.submit,
      // An echo job leased in one batch with the poison loses its attempt with it (its worker
      // dies before the completion is reported), and both are ready again at the same moment,
      // so it may share the poison's every attempt: it gets more attempts than the poison has.
      input: (n) => ({ type: "echo", payload: { n }, maxAttempts: 10 }),
      paceMs: 25,
      maxDurationMs: 30_000,
    });
    const poison = await fs.submit({ type: "poison", payload: { ms: 20 }, maxAttempts: 3 });
    const dead = await fs.client.waitFor(poison.id, { timeoutMs: 30_000 });
    // Jobs submitted after the last crash too: the pool is still serving.
    const afterLastCrash = load.outcomes.length;
    await until(() => load.outcomes.length >= afterLastCrash + 20);
    const outcomes = await load.stop();

    expect(dead.status).toBe(JobStatus.FAILED);
    expect(dead.attempts).toBe(3);
    expect(dead.error).toMatch(/lease expired/);
    const acked = ackedIds(outcomes);
    expect(acked).toHaveLength(outcomes.length);
    const facts = await expectInvariants(fs, { acked: [poison.id, ...acked] });
    expect(facts.get(poison.id)!.trail.map((e) => e.type)).toEqual([
      "submitted", "started", "lease_expired", "started", "lease_expired", "started", "lease_expired",
    ]);
    expect(facts.get(poison.id)!.executions).toBe(3);
    for (const id of acked) expect(facts.get(id)!.status).toBe("completed");
    // Each attempt took one process down, and each was replaced.
    expect(pool.restarts).toBe(3);
    await until(() => pool.workers.every((w) => !w.exited));
  }, 90_000);
});
