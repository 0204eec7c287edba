import type { SchedulerConfig } from "./config.js";

/**
 * Fault points the fault suite switches on through testing-only settings; each does nothing
 * unless its setting is on. They sit where a crash is hardest to survive, so a test can put a
 * crash exactly there instead of hoping a random kill lands in a window of microseconds.
 */

/**
 * Kills this process (SIGKILL: no handler, no flush, as the kernel's OOM killer would) when
 * FAULT_CRASH_AFTER_HISTORY_COMMIT is on. Called by the submit path between history's commit
 * and the Redis enqueue: the jobs are then durable but not queued and the caller gets no answer,
 * which only reconciliation repairs.
 */
export function crashAfterHistoryCommit(config: SchedulerConfig): void {
  if (config.faultCrashAfterHistoryCommit) process.kill(process.pid, "SIGKILL");
}
