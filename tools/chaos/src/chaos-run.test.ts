import { describe, expect, it } from "vitest";
import { startChaosRig } from "./chaos-rig.js";
import { runChaosExperiment } from "./run-chaos.js";

/**
 * With only a Redis restart and a worker kill to choose from, this seed's first action (after
 * 959 ms) restarts Redis, and its second (if the run has time left) kills a worker.
 */
const SEED = 18;

describe("a short chaos run against a spawned stack", () => {
  it("restarts Redis under load and reports every acknowledged job settled, none lost, the stores agreeing", async () => {
    const cleanups: (() => Promise<unknown>)[] = [];
    const log: string[] = [];
    try {
      const rig = await startChaosRig({ workers: 2, schedulers: 1, histories: 1 }, cleanups);
      const report = await runChaosExperiment(rig, {
        durationS: 4,
        rate: 20,
        seed: SEED,
        gapMs: [800, 1_200],
        actions: ["worker", "redis"],
        signal: new AbortController().signal,
        log: (line) => log.push(line),
      });
      // 20 jobs/s for 4 s, in batches of 2: every job offered, whatever the answers.
      expect(report).toMatchObject({ submitted: 80, lost: 0, mismatches: 0, failed: 0, cancelled: 0 });
      expect(report).toMatchObject({ duration_s: 4, seed: SEED, replicas: { scheduler: 1, history: 1 } });
      expect(report.acknowledged).toBeGreaterThan(0);
      expect(report.acknowledged).toBeLessThanOrEqual(report.submitted);
      // Every acknowledged job completed (flaky ones after their planned failures).
      expect(report.completed).toBeGreaterThanOrEqual(report.acknowledged);
      expect(report.recovery_ms).not.toBeNull();

      // The seed's first action restarts Redis; how many follow depends on how fast each completes.
      const { worker, redis, ...others } = report.chaos_actions;
      expect(others).toEqual({ scheduler: 0, history: 0, scheduler_replica: 0, history_replica: 0 });
      expect(redis).toBeGreaterThanOrEqual(1);
      expect(log.filter((line) => line.includes("chaos: restart redis"))).toHaveLength(redis);
      expect(log.filter((line) => line.includes("chaos: SIGKILL worker"))).toHaveLength(worker);
      // Each loss restored within the 30 s the run waits.
      const restore = report.redis_restore_ms;
      expect(restore).toMatchObject({ losses: redis, not_restored: 0 });
      expect(restore.median).toBeGreaterThan(0);
      expect(restore.median).toBeLessThanOrEqual(restore.max!);
      expect(restore.max).toBeLessThanOrEqual(30_000);

      const causes = report.duplicate_causes;
      expect(causes.lease_expired + causes.restored_after_redis_loss + causes.outbox_lost_with_redis).toBe(report.duplicate_executions);
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    }
  }, 90_000);
});
