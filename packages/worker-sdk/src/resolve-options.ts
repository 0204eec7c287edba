import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { activeTraceFields } from "@taskflow/client";
import { pino, type Logger } from "pino";
import type { ClientCredentials } from "@taskflow/client";
import type { Handler, WorkerObserver, WorkerOptions } from "./types.js";

/** WorkerOptions with every default filled in. */
export interface WorkerSettings {
  scheduler: string;
  /** What every call to the scheduler carries: token, headers, interceptors, TLS. */
  credentials: ClientCredentials;
  queues: string[];
  handlers: Record<string, Handler>;
  concurrency: number;
  workerId: string;
  logger: Logger;
  leaseWaitMs: number;
  shutdownGraceMs: number;
  abortWaitMs: number;
  handleSignals: boolean;
  reportBatchMs: number;
  observer: WorkerObserver;
}

/**
 * Fills in defaults and checks ranges.
 * @throws RangeError naming every bad option.
 */
export function resolveOptions(options: WorkerOptions): WorkerSettings {
  const settings: WorkerSettings = {
    scheduler: options.scheduler,
    credentials: { token: options.token, tls: options.tls, headers: options.headers, interceptors: options.interceptors },
    queues: options.queues,
    handlers: options.handlers,
    concurrency: options.concurrency ?? 10,
    workerId: options.workerId || `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`,
    // Lines logged in an attempt carry its trace and span ids when the application traces.
    logger: options.logger ?? pino({ name: "taskflow-worker", mixin: activeTraceFields }),
    leaseWaitMs: options.leaseWaitMs ?? 10_000,
    shutdownGraceMs: options.shutdownGraceMs ?? 25_000,
    abortWaitMs: options.abortWaitMs ?? 5_000,
    handleSignals: options.handleSignals ?? false,
    reportBatchMs: options.reportBatchMs ?? 5,
    observer: options.observer ?? {},
  };
  const problems = [
    ...check("concurrency", settings.concurrency, 1, 1000),
    ...check("leaseWaitMs", settings.leaseWaitMs, 100, 60_000),
    ...check("shutdownGraceMs", settings.shutdownGraceMs, 0, 3_600_000),
    ...check("abortWaitMs", settings.abortWaitMs, 0, 60_000),
    ...check("reportBatchMs", settings.reportBatchMs, 0, 60_000),
    ...(settings.queues.length === 0 ? ["queues must name at least one queue"] : []),
    ...(URL.canParse(settings.scheduler) ? [] : [`scheduler is not a URL: ${settings.scheduler}`]),
  ];
  if (problems.length > 0) throw new RangeError(`invalid worker options: ${problems.join("; ")}`);
  return settings;
}

function check(name: string, value: number, min: number, max: number): string[] {
  return Number.isInteger(value) && value >= min && value <= max
    ? []
    : [`${name} must be an integer from ${min} to ${max}, got ${value}`];
}
