import type { Job } from "@taskflow/proto";
import type { Logger } from "pino";
import type { Authenticator } from "@taskflow/service-kit";
import type { SchedulerConfig } from "./config.js";
import type { GroupCommit } from "./group-commit.js";
import type { HistoryClient } from "./history-client.js";
import type { DueTimer } from "./loops/due-timer.js";
import type { Reconciler } from "./loops/reconcile.js";
import type { SendPresence } from "./loops/send-presence.js";
import type { SendProgress } from "./loops/send-progress.js";
import type { SchedulerMetrics } from "./metrics.js";
import type { LeaseWaiters } from "./redis/lease-waiters.js";
import type { ParkedEvents } from "./redis/parked-events.js";
import type { QueueStore } from "./redis/queue-store.js";
import type { RecoveryStore } from "./redis/recovery-store.js";
import type { ScheduleStore } from "./redis/schedule-store.js";
import type { SubmitLimiter } from "./redis/submit-limiter.js";
import type { WorkerRegistry } from "./redis/worker-registry.js";
import type { ChildSettler } from "./settle-children.js";
import type { NewJob } from "./validate.js";

/** What the RPC handlers share; built once by `startScheduler`, literally in tests. */
export interface Deps {
  readonly config: SchedulerConfig;
  readonly store: QueueStore;
  readonly recovery: RecoveryStore;
  /** The schedules' firing state. */
  readonly schedules: ScheduleStore;
  readonly reconciler: Reconciler;
  readonly metrics: SchedulerMetrics;
  readonly waiters: LeaseWaiters;
  /** Arms delayed promotion for jobs a handler put into a delayed set (a delayed submit, a retry). */
  readonly dueTimer: Pick<DueTimer, "enqueued" | "delayed">;
  /** Outbox entries history refused, kept until replayed. */
  readonly parked: ParkedEvents;
  readonly workers: WorkerRegistry;
  readonly history: HistoryClient;
  /** Concurrent submits' jobs (without idempotency keys) inserted into history together, per actor. */
  readonly submits: GroupCommit<NewJob, Job>;
  /** Each identity's submit rate limit, checked before a submit writes anything. */
  readonly submitLimiter: Pick<SubmitLimiter, "take">;
  /** Sends workers' presence to history in the background. */
  readonly presence: Pick<SendPresence, "note" | "send">;
  /** Sends jobs' progress (carried by heartbeats) to history in the background. */
  readonly progress: Pick<SendProgress, "note">;
  readonly logger: Logger;
  /** Releases or ends flows' children whose parents settled. */
  readonly flows: Pick<ChildSettler, "settleIds">;
  /** Tells the outbox forwarder that new events wait, so history hears of them promptly. */
  readonly eventsWritten: () => void;
  /** Verifies callers; undefined when authentication is off. */
  readonly authenticator?: Authenticator;
}
