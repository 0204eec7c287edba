import { startAll, stopAll, type StackService, type TcpBalancer } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAST_RECONCILE, startFaultStack, until, type FaultStack } from "./fault-stack.js";
import { expectInvariants } from "./invariants.js";
import { ackedIds, startSteadyLoad, type SubmitOutcome } from "./steady-load.js";

/** How long a killed replica stays down, in ms: long enough for many submits and leases to meet the gap. */
const DOWN_MS = 3_000;
/** Time a client may take to notice its connection died with the replica and connect again, in ms. */
const RECONNECT_MS = 1_000;
/** Submits the replicas left up must answer before the victims come back. */
const SERVED_WHILE_DOWN = 5;

let fs: FaultStack;

beforeAll(async () => {
  fs = await startFaultStack({
    workers: 2,
    // The case is about replicas: two of each whatever TEST_STACK_REPLICAS says.
    schedulers: 2,
    histories: 2,
    // Outbox entries a killed replica had read but not acknowledged reach history through the
    // other replica after 3 s rather than the default 15 s.
    scheduler: { ...FAST_RECONCILE, OUTBOX_CLAIM_IDLE_MS: "3000" },
  });
});

afterAll(async () => {
  await fs?.close();
});

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until every replica behind `balancer` has been handed a connection: the load is spread. */
const untilSpread = (balancer: TcpBalancer): Promise<void> => until(() => balancer.handed.every((n) => n > 0));

/**
 * SIGKILLs `victims` together while jobs flow (a steady submit load and long jobs running
 * through the kill), keeps them down for DOWN_MS, starts them again on their ports, and checks
 * that the replicas left up served every submit made meanwhile and that every job ends as the
 * invariants require.
 */
async function killUnderLoad(victims: StackService[]): Promise<void> {
  const load = startSteadyLoad({
    submit: fs.submit,
    input: (n) => ({ type: "sleep", payload: { n, ms: 20 + (n % 5) * 100 } }),
    paceMs: 20,
    maxDurationMs: 30_000,
  });
  // Running when the kill comes: their leases, heartbeats and reports cross it.
  const long = await Promise.all(
    Array.from({ length: 6 }, (_, i) => fs.submit({ type: "sleep", payload: { ms: 1_500 + 500 * i }, maxAttempts: 10 })),
  );
  await fs.untilLogged(long);
  await stopAll(victims, "SIGKILL");
  const downAt = Date.now();
  // Down for DOWN_MS, and until the replicas left have answered a few submits (a loaded machine is slow).
  const servedMeanwhile = (): number => load.outcomes.filter((o) => o.sentAt >= downAt + RECONNECT_MS && o.job).length;
  await Promise.all([pause(DOWN_MS), until(() => servedMeanwhile() >= SERVED_WHILE_DOWN, 20_000)]);
  const upAt = Date.now();
  await startAll(victims);
  await until(() => load.outcomes.some((o) => o.sentAt > upAt + RECONNECT_MS && o.job), 20_000);
  const outcomes = await load.stop();

  // The replicas left up served the service meanwhile: a submit fails only in the moment its
  // connection dies with a victim.
  const whileDown = outcomes.filter((o) => o.sentAt >= downAt + RECONNECT_MS && o.endedAt <= upAt);
  expect(whileDown.filter((o) => o.job).length).toBeGreaterThanOrEqual(SERVED_WHILE_DOWN);
  expect(failures(whileDown)).toEqual([]);
  await expectInvariants(fs, { acked: [...long.map((j) => j.id), ...ackedIds(outcomes)] });
}

const failures = (outcomes: readonly SubmitOutcome[]) =>
  outcomes.filter((o) => o.error !== undefined).map((o) => ({ n: o.n, code: o.error!.code, message: o.error!.rawMessage }));

describe("fault: one replica is killed (SIGKILL) while jobs flow, the other stays up", () => {
  it("a scheduler replica: the other serves workers and submits, and every acknowledged job finishes", async () => {
    const { schedulers, balancers } = fs.stack;
    await untilSpread(balancers.scheduler);
    await killUnderLoad([schedulers[0]!]);
  }, 90_000);

  it("a history replica: the other records submits and transitions, and every acknowledged job finishes", async () => {
    const { histories, balancers } = fs.stack;
    // The schedulers' calls reach history through its internal listeners.
    await untilSpread(balancers.historyInternal);
    await killUnderLoad([histories[0]!]);
  }, 90_000);

  it("a replica of each at once: the remaining pair carries the load, and every acknowledged job finishes", async () => {
    const { schedulers, histories } = fs.stack;
    await killUnderLoad([schedulers[1]!, histories[1]!]);
  }, 90_000);
});
