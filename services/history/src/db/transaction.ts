import type pg from "pg";
import type { Queryable } from "./queryable.js";
import { type StatementTimings, timed } from "./statements.js";

const BEGIN = { name: "history_begin", text: "BEGIN" };
const COMMIT = { name: "history_commit", text: "COMMIT" };
const ROLLBACK = { name: "history_rollback", text: "ROLLBACK" };
/** `SET LOCAL lock_timeout`, as a parameterised statement: SET itself takes no parameters. */
const SET_LOCK_TIMEOUT = "SELECT set_config('lock_timeout', $1, true)";

/** SQLSTATE lock_not_available: a lock wait ran past `lock_timeout` (or a NOWAIT lock was taken). */
const LOCK_NOT_AVAILABLE = "55P03";
/** SQLSTATE deadlock_detected: PostgreSQL broke a lock cycle by failing this transaction. */
const DEADLOCK_DETECTED = "40P01";

/** What a transaction body gets: the timed client, and the raw one for cursors and notices. */
export interface Transaction {
  db: Queryable;
  client: pg.PoolClient;
}

/**
 * Thrown when COMMIT itself failed: whether the transaction took effect is unknown, so a caller
 * must not undo side effects outside the database (an archive file) on its account.
 */
export class CommitError extends Error {
  constructor(cause: unknown) {
    super("COMMIT failed; the transaction may or may not have taken effect", { cause });
    this.name = "CommitError";
  }
}

/**
 * Runs `body` in one transaction on a connection of its own, every statement timed into
 * `timings`: commits when `body` resolves, rolls back when it throws (and rethrows). A
 * connection whose ROLLBACK failed is destroyed, not returned to the pool in a broken state.
 * @throws CommitError when COMMIT failed; whatever `body` threw otherwise.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  timings: StatementTimings,
  body: (tx: Transaction) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  const db = timed(client, timings);
  let broken: Error | undefined;
  // The connection can fail between two statements (a server shutting down says so at once):
  // the client then emits "error", which must not go unheard, and is not given back for reuse.
  const onError = (err: Error): void => {
    broken = err;
  };
  client.on("error", onError);
  try {
    await db.query(BEGIN);
    let result: T;
    try {
      result = await body({ db, client });
    } catch (err) {
      await db.query(ROLLBACK).catch((rollbackErr: unknown) => {
        broken = rollbackErr instanceof Error ? rollbackErr : new Error("ROLLBACK failed");
      });
      throw err;
    }
    try {
      await db.query(COMMIT);
    } catch (err) {
      broken = err instanceof Error ? err : new Error("COMMIT failed");
      throw new CommitError(err);
    }
    return result;
  } finally {
    client.off("error", onError);
    client.release(broken);
  }
}

/**
 * Sets `lock_timeout` for the rest of the current transaction: a lock wait longer than `ms`
 * fails the statement with SQLSTATE 55P03 (see {@link isLockTimeout}) instead of queueing, with
 * every later lock request queued behind it.
 */
export async function setLocalLockTimeout(db: Queryable, ms: number): Promise<void> {
  await db.query({ name: "history_set_local_lock_timeout", text: SET_LOCK_TIMEOUT, values: [String(ms)] });
}

const sqlState = (err: unknown): unknown => (typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined);

/** Whether `err` is PostgreSQL giving up on a lock (`lock_timeout` ran out). */
export function isLockTimeout(err: unknown): boolean {
  return sqlState(err) === LOCK_NOT_AVAILABLE;
}

/**
 * Whether `err` is a lock wait that failed: `lock_timeout` ran out, or the wait closed a cycle
 * with another session and PostgreSQL failed this transaction to break it. Either way the
 * transaction did nothing and the same work can be tried later. (Every statement of history
 * takes the parents in one order, jobs then job_events, as the DDL that locks both does;
 * `lock-order.test.ts` holds them to it. The cycle is left to a session outside history.)
 */
export function isLockConflict(err: unknown): boolean {
  const code = sqlState(err);
  return code === LOCK_NOT_AVAILABLE || code === DEADLOCK_DETECTED;
}
