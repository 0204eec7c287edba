import { Counter, Registry } from "prom-client";

/** The scheduler's Prometheus metrics, on a registry of its own (served at `GET /metrics`). */
export interface SchedulerMetrics {
  readonly registry: Registry;
  /** Outbox entries history refused or that did not parse, moved to the dead-letter stream. */
  readonly outboxParked: Counter<"queue">;
  /** Unfinished jobs Redis had lost, put back by the reconciler. */
  readonly reconcileRequeued: Counter;
  /** Jobs the reconciler removed from Redis: finished in history, or unknown to it. */
  readonly reconcileDropped: Counter;
  /** Leases that ran out before their worker reported. */
  readonly leaseExpired: Counter;
}

/**
 * Creates the scheduler's counters on a new registry. One registry per scheduler (not the
 * global one), so several schedulers in one process (tests) keep their counts apart.
 */
export function createSchedulerMetrics(): SchedulerMetrics {
  const registry = new Registry();
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  return {
    registry,
    outboxParked: counter("taskflow_outbox_parked_total", "Outbox entries parked in the dead-letter stream", ["queue"]),
    reconcileRequeued: counter("taskflow_reconcile_requeued_total", "Unfinished jobs Redis had lost, enqueued again"),
    reconcileDropped: counter("taskflow_reconcile_dropped_total", "Jobs dropped from Redis: finished in history or unknown to it"),
    leaseExpired: counter("taskflow_lease_expired_total", "Leases that ran out before their worker reported"),
  };
}
