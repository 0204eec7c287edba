import { startPrivatePostgres, type PrivatePostgres } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFaultStack, until, type FaultStack } from "./fault-stack.js";
import { expectInvariants, withoutLapses } from "./invariants.js";
import { expectCleanFailures } from "./outage-checks.js";
import { ackedIds, startSteadyLoad } from "./steady-load.js";

/** How long PostgreSQL stays down: the fault itself is a duration. */
const OUTAGE_MS = 8_000;

let postgres: PrivatePostgres;
let fs: FaultStack;

beforeAll(async () => {
  // A server of this file's own: the shared one serves every other test meanwhile.
  postgres = await startPrivatePostgres();
  fs = await startFaultStack({ workers: 2, databaseAdminUrl: postgres.adminUrl });
});

afterAll(async () => {
  try {
    await fs?.close();
  } finally {
    await postgres?.close();
  }
});

describe("fault: PostgreSQL is stopped and started under load", () => {
  it("refuses submits cleanly meanwhile, and records the completions made meanwhile once it is back", async () => {
    const load = startSteadyLoad({
      submit: fs.submit,
      input: (n) => ({ type: "sleep", payload: { n, ms: 50 } }),
      paceMs: 50,
      maxDurationMs: 90_000,
    });
    // Jobs that finish while PostgreSQL is down, one every second.
    const running = await Promise.all(
      Array.from({ length: 5 }, (_, i) => fs.submit({ type: "sleep", payload: { ms: 1_000 * (i + 1) }, maxAttempts: 10 })),
    );
    await fs.untilLogged(running);
    await postgres.stop();
    const downAt = Date.now();
    await fs.untilLogged(running, "finish", OUTAGE_MS);
    await new Promise((resolve) => setTimeout(resolve, downAt + OUTAGE_MS - Date.now()));
    const upAt = Date.now();
    await postgres.start();
    await until(() => load.outcomes.some((o) => o.sentAt > upAt && o.job), 20_000);
    const outcomes = await load.stop();

    await expectCleanFailures(fs, outcomes, { downAt, upAt });
    const facts = await expectInvariants(fs, {
      acked: [...running.map((j) => j.id), ...ackedIds(outcomes)],
      settleTimeoutMs: 60_000,
    });
    for (const job of running) {
      const trail = withoutLapses(facts.get(job.id)!.trail);
      expect(trail.map((e) => e.type)).toEqual(["submitted", "started", "completed"]);
      expect(trail[2]!.occurred_ms).toBeLessThan(upAt);
      expect(trail[2]!.recorded_ms).toBeGreaterThanOrEqual(upAt);
    }
  }, 150_000);
});
