import { randomUUID } from "node:crypto";
import { JobStatus } from "@taskflow/client";
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

describe("fault: one idempotency key submitted 20 times at once", () => {
  it("creates, runs and records one job, and answers every submit with it", async () => {
    const key = `order-${randomUUID()}`;
    // Spread over the scheduler replicas, as a caller's retries behind a balancer would be.
    const { schedulers } = fs.stack;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fs.submitTo(schedulers[i % schedulers.length]!.url, { type: "echo", payload: { n: 1 }, idempotencyKey: key }),
      ),
    );
    const ids = new Set(answers.map((j) => j.id));
    expect(ids.size).toBe(1);
    const [id] = ids;

    const done = await fs.client.waitFor(id!, { timeoutMs: 20_000 });
    expect(done.status).toBe(JobStatus.COMPLETED);
    const facts = await expectInvariants(fs, { acked: [id!] });
    expect(await fs.sql("SELECT id::text FROM jobs WHERE idempotency_key = $1", [key])).toEqual([{ id }]);
    expect([...facts.keys()]).toEqual([id]);
    expect(withoutLapses(facts.get(id!)!.trail).map((e) => e.type)).toEqual(["submitted", "started", "completed"]);
  }, 60_000);
});
