import { collectDefaultMetrics, Registry } from "prom-client";

/**
 * A new registry for one service, with prom-client's default metrics on it (process CPU,
 * memory, open file descriptors, event loop lag, garbage collection, Node's version). One per
 * service rather than the global registry, so that several services in one process (tests)
 * keep their counts apart.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
