import { eventually, startAll, stopAll } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFaultStack, until, type FaultStack } from "./fault-stack.js";
import { expectInvariants, withoutLapses } from "./invariants.js";
import { expectCleanFailures } from "./outage-checks.js";
import { ackedIds, startSteadyLoad } from "./steady-load.js";

/** How long history stays down: the fault itself is a duration. */
const OUTAGE_MS = 30_000;

let fs: FaultStack;

beforeAll(async () => {
  fs = await startFaultStack({ workers: 2 });
});

afterAll(async () => {
  await fs?.close();
});

describe("fault: history is down for 30 s under load", () => {
  it("refuses submits cleanly meanwhile, and records the completions made meanwhile once it is back", async () => {
    const load = startSteadyLoad({
      submit: fs.submit,
      input: (n) => ({ type: "sleep", payload: { n, ms: 50 } }),
      paceMs: 100,
      maxDurationMs: 120_000,
    });
    // Jobs that finish while history is down, one every 2 s.
    const running = await Promise.all(
      Array.from({ length: 10 }, (_, i) => fs.submit({ type: "sleep", payload: { ms: 2_000 * (i + 1) }, maxAttempts: 10 })),
    );
    await fs.untilLogged(running);
    // Every replica: the whole service is down.
    await stopAll(fs.stack.histories, "SIGTERM");
    const downAt = Date.now();
    await fs.untilLogged(running, "finish", OUTAGE_MS);
    // The completions wait in the outbox, since history cannot take them: one per running job at
    // least, once the last finished job's report (sent a few ms after its handler ends) is in.
    const outbox = `${fs.stack.keyPrefix}:{default}:outbox`;
    await eventually(async () => ((await fs.redis.xlen(outbox)) >= running.length ? true : undefined), 5_000);
    expect(await fs.redis.xlen(outbox)).toBeGreaterThanOrEqual(running.length);
    await new Promise((resolve) => setTimeout(resolve, downAt + OUTAGE_MS - Date.now()));
    const upAt = Date.now();
    await startAll(fs.stack.histories);
    // Submits are accepted again.
    await until(() => load.outcomes.some((o) => o.sentAt > upAt && o.job), 20_000);
    const outcomes = await load.stop();

    await expectCleanFailures(fs, outcomes, { downAt, upAt });
    const facts = await expectInvariants(fs, {
      acked: [...running.map((j) => j.id), ...ackedIds(outcomes)],
      settleTimeoutMs: 90_000,
    });
    for (const job of running) {
      const trail = withoutLapses(facts.get(job.id)!.trail);
      expect(trail.map((e) => e.type)).toEqual(["submitted", "started", "completed"]);
      // Completed while history was down, recorded after it came back.
      const completed = trail[2]!;
      expect(completed.occurred_ms).toBeLessThan(upAt);
      expect(completed.recorded_ms).toBeGreaterThanOrEqual(upAt);
    }
  }, 180_000);
});
