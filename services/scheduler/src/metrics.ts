import { createMetricsRegistry } from "@taskflow/service-kit";
import { Counter, Gauge, type Registry } from "prom-client";
import type { QueueSnapshot } from "./redis/queue-stats.js";

/** The scheduler's Prometheus metrics, on a registry of its own (served at `GET /metrics`). */
export interface SchedulerMetrics {
  readonly registry: Registry;
  /** Jobs created in Redis by submits (an idempotent retry that created nothing is not counted). */
  readonly jobsSubmitted: Counter<"queue">;
  /** Leases handed out (attempts started); a lease request retried with its request id counts again. */
  readonly jobsStarted: Counter<"queue">;
  /** Completions accepted from workers. */
  readonly jobsCompleted: Counter<"queue">;
  /** Failures accepted from workers that ended their job: permanent, or on its last attempt. */
  readonly jobsFailed: Counter<"queue">;
  /** Failures accepted from workers that left their job waiting for another attempt. */
  readonly jobsRetried: Counter<"queue">;
  /** Leases that ran out before their worker reported. */
  readonly jobsExpired: Counter<"queue">;
  /** Outbox entries history refused or that did not parse, moved to the parked stream. */
  readonly outboxParked: Counter<"queue">;
  /** Unfinished jobs Redis had lost, put back by the reconciler. */
  readonly reconcileRequeued: Counter;
  /** Jobs the reconciler removed from Redis: finished in history, or unknown to it. */
  readonly reconcileDropped: Counter;
  /** Restores after Redis lost its data (the reconciler's marker was gone). */
  readonly redisDataLost: Counter;
  /** Lease script runs, one per queue tried by a lease attempt (what long polls cost Redis). */
  readonly leaseScripts: Counter;
}

/**
 * Creates the scheduler's metrics on a new registry (with the process metrics). One registry per
 * scheduler (not the global one), so several schedulers in one process (tests) keep their counts
 * apart. `readQueues` fills the queue gauges at each scrape; it is called once per scrape
 * however many gauges ask.
 */
export function createSchedulerMetrics(readQueues?: () => Promise<QueueSnapshot>): SchedulerMetrics {
  const registry = createMetricsRegistry();
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  const perQueue = (name: string, help: string) => counter(name, help, ["queue"]);
  if (readQueues !== undefined) registerQueueGauges(registry, readQueues);
  return {
    registry,
    jobsSubmitted: perQueue("taskflow_jobs_submitted_total", "Jobs created by submits"),
    jobsStarted: perQueue("taskflow_jobs_started_total", "Leases handed to workers (attempts started)"),
    jobsCompleted: perQueue("taskflow_jobs_completed_total", "Completions accepted from workers"),
    jobsFailed: perQueue("taskflow_jobs_failed_total", "Failures accepted from workers that ended the job"),
    jobsRetried: perQueue("taskflow_jobs_retried_total", "Failures accepted from workers that scheduled another attempt"),
    jobsExpired: perQueue("taskflow_jobs_expired_total", "Leases that ran out before their worker reported"),
    outboxParked: perQueue("taskflow_outbox_parked_total", "Outbox entries parked because history refused them"),
    reconcileRequeued: counter("taskflow_reconcile_requeued_total", "Unfinished jobs Redis had lost, enqueued again"),
    reconcileDropped: counter("taskflow_reconcile_dropped_total", "Jobs dropped from Redis: finished in history or unknown to it"),
    redisDataLost: counter("taskflow_redis_data_lost_total", "Restores of every unfinished job after Redis lost its data"),
    leaseScripts: counter("taskflow_lease_scripts_total", "Lease script runs, one per queue a lease attempt tried"),
  };
}

/**
 * The gauges read from Redis at scrape time. prom-client collects every metric of a scrape at
 * once, so the reading in flight is shared: one round of Redis reads per scrape.
 */
function registerQueueGauges(registry: Registry, readQueues: () => Promise<QueueSnapshot>): void {
  let inFlight: Promise<QueueSnapshot> | undefined;
  const snapshot = (): Promise<QueueSnapshot> => {
    inFlight ??= readQueues().finally(() => (inFlight = undefined));
    return inFlight;
  };
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], fill: (g: Gauge<L>, s: QueueSnapshot) => void) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        // Redis being down must not fail the scrape: the RPC and process metrics matter most then.
        const s = await snapshot().catch(() => undefined);
        this.reset();
        if (s !== undefined) fill(this, s);
      },
    });
  const ageSeconds = (s: QueueSnapshot, atMs: number): number => Math.max(0, (s.nowMs - atMs) / 1000);
  gauge("taskflow_queue_jobs", "Jobs in Redis per queue and state (ready, delayed, leased)", ["queue", "state"], (g, s) => {
    for (const q of s.queues) {
      g.set({ queue: q.queue, state: "ready" }, q.ready);
      g.set({ queue: q.queue, state: "delayed" }, q.delayed);
      g.set({ queue: q.queue, state: "leased" }, q.leased);
    }
  });
  gauge("taskflow_queue_oldest_ready_age_seconds", "How long the longest-waiting job at the head of a ready set has been ready", ["queue"], (g, s) => {
    for (const q of s.queues) g.set({ queue: q.queue }, q.oldestReadyMs === undefined ? 0 : ageSeconds(s, q.oldestReadyMs));
  });
  gauge("taskflow_outbox_entries", "Outbox entries history has not recorded yet", ["queue"], (g, s) => {
    for (const q of s.queues) g.set({ queue: q.queue }, q.outbox);
  });
  gauge("taskflow_outbox_oldest_age_seconds", "Age of the oldest outbox entry history has not recorded yet", ["queue"], (g, s) => {
    for (const q of s.queues) g.set({ queue: q.queue }, q.oldestOutboxMs === undefined ? 0 : ageSeconds(s, q.oldestOutboxMs));
  });
  gauge("taskflow_outbox_parked", "Outbox entries parked now, waiting to be replayed (AdminService.ReplayParkedEvents)", ["queue"], (g, s) => {
    for (const q of s.queues) if (q.parked > 0) g.set({ queue: q.queue }, q.parked);
  });
  new Gauge({
    name: "taskflow_queue_stats_up",
    help: "1 when this scrape read the queue gauges from Redis, 0 when it could not",
    registers: [registry],
    async collect() {
      this.set((await snapshot().then(() => 1, () => 0)));
    },
  });
  gauge("taskflow_queues_unreported", "Queues left out of the per-queue gauges past their limit (MAX_REPORTED_QUEUES)", [], (g, s) => {
    g.set(s.omitted);
  });
}
