import { Code } from "@connectrpc/connect";
import { expect } from "vitest";
import type { FaultStack } from "./fault-stack.js";
import type { SubmitOutcome } from "./steady-load.js";

/** Longest a submit may take to fail while a store is down, in ms: callers must not hang. */
const FAIL_FAST_MS = 3_000;

/**
 * Submits made while history or its database was down: every one sent after `downAt` and
 * answered before `upAt` failed with `unavailable`, quickly; and no failed submit of the whole
 * load left a job behind (each load job's payload carries its `n`).
 */
export async function expectCleanFailures(
  fs: FaultStack,
  outcomes: readonly SubmitOutcome[],
  window: { downAt: number; upAt: number },
): Promise<void> {
  const inside = outcomes.filter((o) => o.sentAt >= window.downAt && o.endedAt <= window.upAt);
  expect(inside.length).toBeGreaterThan(10);
  expect(inside.filter((o) => o.error?.code !== Code.Unavailable).map((o) => ({ n: o.n, error: o.error?.message }))).toEqual([]);
  expect(Math.max(...inside.map((o) => o.endedAt - o.sentAt))).toBeLessThan(FAIL_FAST_MS);
  const failed = new Set(outcomes.filter((o) => o.error !== undefined).map((o) => o.n));
  const rows = await fs.sql<{ n: number }>("SELECT (payload->>'n')::int AS n FROM jobs WHERE payload ? 'n'");
  expect(rows.filter((r) => failed.has(r.n))).toEqual([]);
}
