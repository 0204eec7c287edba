import { createMetricsRegistry } from "@taskflow/service-kit";
import type { WorkerObserver, WorkerStats } from "@taskflow/worker-sdk";
import { Gauge, Histogram, type Registry } from "prom-client";

/** The worker service's Prometheus metrics (served at `GET /metrics` on its health port). */
export interface WorkerMetrics {
  readonly registry: Registry;
  /** Feeds the handler histogram; give it to the SDK's `observer` option. */
  readonly observer: WorkerObserver;
}

/** Handler durations, in seconds: from a millisecond to the longest usual attempt timeouts. */
const HANDLER_SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

/**
 * Creates the worker service's metrics on a new registry (with the process metrics). The slot
 * gauges read `stats()` (the SDK worker's) at each scrape; the handler histogram is fed by the
 * returned observer.
 */
export function createWorkerMetrics(stats: () => Pick<WorkerStats, "slots" | "inFlight">): WorkerMetrics {
  const registry = createMetricsRegistry();
  new Gauge({
    name: "taskflow_worker_slots",
    help: "Jobs this worker runs at once at most (its concurrency)",
    registers: [registry],
    collect() {
      this.set(stats().slots);
    },
  });
  new Gauge({
    name: "taskflow_worker_slots_busy",
    help: "Handlers running now",
    registers: [registry],
    collect() {
      this.set(stats().inFlight);
    },
  });
  const handlerSeconds = new Histogram({
    name: "taskflow_worker_handler_seconds",
    help: "How long attempts ran, from handler start to outcome, by job type and outcome (completed, failed, lost, released)",
    labelNames: ["type", "outcome"],
    buckets: HANDLER_SECONDS_BUCKETS,
    registers: [registry],
  });
  const observer: WorkerObserver = {
    attemptEnded: ({ type, outcome, seconds }) => handlerSeconds.observe({ type, outcome }, seconds),
  };
  return { registry, observer };
}
