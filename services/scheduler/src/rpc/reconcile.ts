import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { AdminService } from "@taskflow/proto";
import type { Deps } from "../deps.js";

/** How long an on-demand run waits for another replica's run to end, in ms. */
export const ADMIN_LOCK_WAIT_MS = 10_000;

/**
 * Reconcile: runs a full reconciliation once, now (every unfinished job older than the grace
 * period, every job in Redis), and answers what it found and repaired (or, on a dry run, what it
 * would repair). Waits for a run in progress on another replica to end first.
 * @throws unavailable when history or Redis fails, or another replica's run outlasts the wait.
 */
export const reconcile =
  (d: Deps): ServiceImpl<typeof AdminService>["reconcile"] =>
  async (req) => {
    const report = await d.reconciler.runOnce({ dryRun: req.dryRun, full: true, waitForLockMs: ADMIN_LOCK_WAIT_MS });
    if (report === undefined) {
      throw new ConnectError("another replica is reconciling; retry shortly", Code.Unavailable);
    }
    return {
      unfinishedChecked: report.unfinishedChecked,
      redisChecked: report.redisChecked,
      requeuedJobIds: report.requeuedJobIds,
      droppedJobIds: report.droppedJobIds,
    };
  };
