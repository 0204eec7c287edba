import pg from "pg";
import type { Logger } from "pino";

/** How long a new connection may take before the pool gives up, in milliseconds. */
const CONNECT_TIMEOUT_MS = 5_000;

/** How long the health check waits for `SELECT 1`, in milliseconds. */
export const HEALTH_CHECK_TIMEOUT_MS = 1_000;

export interface PoolOptions {
  databaseUrl: string;
  /** Most connections the pool opens. */
  max: number;
  /** Server-side limit of one statement, in milliseconds. */
  statementTimeoutMs: number;
}

/**
 * Opens a pool of PostgreSQL connections. Every connection carries `statement_timeout`, so a
 * runaway query cannot hold a connection forever. An idle connection that breaks (server
 * restart, network cut) emits `error` on the pool; the listener logs it, because an
 * unhandled `error` event would end the process.
 */
export function createPool(opts: PoolOptions, logger: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.databaseUrl,
    max: opts.max,
    statement_timeout: opts.statementTimeoutMs,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: "taskflow-history",
  });
  pool.on("error", (err) => logger.warn({ err }, "idle database connection failed"));
  return pool;
}

/** `query_timeout` (pg reads it per query, though its types omit it) frees the connection too. */
const HEALTH_QUERY = { text: "SELECT 1", query_timeout: HEALTH_CHECK_TIMEOUT_MS };

/**
 * Health check for service-kit: resolves when PostgreSQL answers `SELECT 1` within
 * {@link HEALTH_CHECK_TIMEOUT_MS}.
 * @throws Error when the database does not answer in time, refuses, or `signal` aborts.
 */
export function checkDatabase(pool: pg.Pool): (signal: AbortSignal) => Promise<void> {
  return async (signal) => {
    signal.throwIfAborted();
    await raceTimeout(pool.query(HEALTH_QUERY), HEALTH_CHECK_TIMEOUT_MS, signal);
  };
}

/** Settles with `work`, or rejects when `ms` pass or `signal` aborts first. */
async function raceTimeout<T>(work: Promise<T>, ms: number, signal: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("database health check timed out")), ms);
    onAbort = () => {
      // Aborts carry an Error (TimeoutError, AbortError); anything else still rejects with one.
      const reason: unknown = signal.reason;
      reject(reason instanceof Error ? reason : new Error("aborted"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Ends the pool and resolves once every connection is closed. `pool.end()` alone resolves
 * when the last client leaves the pool, before its socket is closed; a database dropped or
 * restarted in that gap would make the closing client emit an error nobody listens to.
 */
export async function endPool(pool: pg.Pool): Promise<void> {
  let open = pool.totalCount;
  const closed = new Promise<void>((resolve) => {
    if (open === 0) resolve();
    pool.on("remove", () => {
      open -= 1;
      if (open === 0) resolve();
    });
  });
  await pool.end();
  await closed;
}
