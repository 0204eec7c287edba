import { startRedisServer } from "@taskflow/devstack";

/** A redis-server of one test's own, which the test may kill without touching anyone else's data. */
export interface PrivateRedis {
  /** `redis://127.0.0.1:<port>`; the same across restarts. */
  url: string;
  /** Kills the server (SIGKILL) and starts an empty one on the same port: every key is lost. */
  restart(): Promise<void>;
  /** Kills the server for good and removes its folder. */
  stop(): Promise<void>;
}

/**
 * Devstack's scratch redis-server (nothing persisted, `noeviction`) in a temporary folder, with
 * `args` added (e.g. `["--maxmemory-policy", "allkeys-lru"]`), for what the shared test server
 * must never see: faults, other settings, a flushed script cache (other test files use the
 * shared server at the same time).
 * @throws Error when redis-server is missing or not ready within 10 s (with its last output).
 */
export async function startPrivateRedis(args: readonly string[] = []): Promise<PrivateRedis> {
  const server = await startRedisServer({ args });
  return { url: server.url, restart: () => server.restart(), stop: () => server.stop("SIGKILL") };
}
