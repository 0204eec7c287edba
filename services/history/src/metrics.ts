import { createMetricsRegistry } from "@taskflow/service-kit";
import type pg from "pg";
import { Gauge, Histogram, type Registry } from "prom-client";

/** The ingest calls history times: the scheduler's writes. */
export type IngestMethod = "InsertJobs" | "AppendEvents" | "RecordProgress";

/** History's Prometheus metrics, on a registry of its own (served at `GET /metrics`). */
export interface HistoryMetrics {
  readonly registry: Registry;
  /** Jobs per InsertJobs call, events per AppendEvents call (valid requests). */
  readonly ingestBatchSize: Histogram<"method">;
  /** Time one ingest call spends writing its batch to PostgreSQL, in seconds, whether it succeeds or fails. */
  readonly ingestSeconds: Histogram<"method">;
}

/** Batch sizes up to the scheduler's largest (its outbox batch and its submit limit, 1,000 by default). */
const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];
/** One statement per batch: from a millisecond to the statement timeout's range. */
const INGEST_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Creates history's metrics on a new registry (with the process metrics). `pools` are read at
 * each scrape for `taskflow_pg_pool_connections{pool,state}`: `total`, `idle` and `waiting`
 * (node-postgres' totalCount, idleCount and waitingCount); give the read pool only when it is
 * not the primary pool itself.
 */
export function createHistoryMetrics(pools: Readonly<Record<string, pg.Pool>>): HistoryMetrics {
  const registry = createMetricsRegistry();
  new Gauge({
    name: "taskflow_pg_pool_connections",
    help: "PostgreSQL pool connections by state: total open, idle, and callers waiting for one",
    labelNames: ["pool", "state"],
    registers: [registry],
    collect() {
      for (const [pool, p] of Object.entries(pools)) {
        this.set({ pool, state: "total" }, p.totalCount);
        this.set({ pool, state: "idle" }, p.idleCount);
        this.set({ pool, state: "waiting" }, p.waitingCount);
      }
    },
  });
  return {
    registry,
    ingestBatchSize: new Histogram({
      name: "taskflow_history_ingest_batch_size",
      help: "Jobs per InsertJobs call and events per AppendEvents call",
      labelNames: ["method"],
      buckets: BATCH_SIZE_BUCKETS,
      registers: [registry],
    }),
    ingestSeconds: new Histogram({
      name: "taskflow_history_ingest_seconds",
      help: "Time an ingest call spends writing its batch to PostgreSQL, in seconds",
      labelNames: ["method"],
      buckets: INGEST_SECONDS_BUCKETS,
      registers: [registry],
    }),
  };
}

/**
 * Records one ingest call of `size` items: its batch size at once, and how long `write` takes
 * (also when it fails). Resolves or rejects as `write` does.
 */
export async function observeIngest<T>(m: HistoryMetrics, method: IngestMethod, size: number, write: () => Promise<T>): Promise<T> {
  m.ingestBatchSize.observe({ method }, size);
  const end = m.ingestSeconds.startTimer({ method });
  try {
    return await write();
  } finally {
    end();
  }
}
