import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import pg from "pg";
import type { Logger } from "pino";
import {
  IdempotencyKeyConflictError,
  IdempotencyKeyReservedError,
  InsertRetriesExhaustedError,
} from "./db/queries/insert-jobs.js";
import { CommitError } from "./db/transaction.js";
import { ArchiveError } from "./retention/archive.js";

/** The request is malformed; retrying it unchanged fails the same way. */
export const invalidArgument = (message: string): ConnectError => new ConnectError(message, Code.InvalidArgument);

/** The request names something history does not hold. */
export const notFound = (message: string): ConnectError => new ConnectError(message, Code.NotFound);

/** What the caller is told about a database failure: a code, and a message holding no SQL or data. */
interface Answer {
  code: Code;
  message: string;
}

/** A failure that is over once the database is back or the contention has passed: the caller retries. */
const retry = (message: string): Answer => ({ code: Code.Unavailable, message: `${message}; retry` });

const UNAVAILABLE = retry("database unavailable");
const POOL_EXHAUSTED = retry("database busy: no connection came free in time");
const STATEMENT_TIMEOUT = retry("database busy: a statement ran past its time limit");

/** SQLSTATEs (PostgreSQL's appendix A) answered with a code of their own. */
const BY_SQLSTATE: ReadonlyMap<string, Answer> = new Map([
  ["40001", retry("transaction conflicted with a concurrent one (serialization failure)")],
  ["40P01", retry("transaction conflicted with a concurrent one (deadlock)")],
  ["55P03", retry("database busy: a lock wait ran past its time limit")],
  ["57014", STATEMENT_TIMEOUT],
  ["23505", { code: Code.AlreadyExists, message: "a row with the same key exists already" }],
  ["23503", { code: Code.FailedPrecondition, message: "a row it refers to does not exist" }],
  ["23514", { code: Code.InvalidArgument, message: "a value is outside what the schema allows" }],
  ["23502", { code: Code.InvalidArgument, message: "a required value is missing" }],
]);

/**
 * SQLSTATE classes answered as a whole: connection exception (08), insufficient resources (53:
 * too many connections, out of memory or disk), operator intervention (57: shutdown, restart,
 * not yet accepting connections).
 */
const BY_SQLSTATE_CLASS: ReadonlyMap<string, Answer> = new Map([
  ["08", UNAVAILABLE],
  ["53", retry("database out of resources")],
  ["57", UNAVAILABLE],
]);

/** Socket errors on the way to the database. */
const NETWORK_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** pg and pg-pool name these failures by message only. */
const DRIVER_MESSAGES: ReadonlyMap<string, Answer> = new Map([
  ["timeout exceeded when trying to connect", POOL_EXHAUSTED],
  ["Connection terminated due to connection timeout", UNAVAILABLE],
  ["Connection terminated unexpectedly", UNAVAILABLE],
  ["Connection terminated", UNAVAILABLE],
  ["Client has encountered a connection error and is not queryable", UNAVAILABLE],
  ["Client was closed and is not queryable", UNAVAILABLE],
  ["Query read timeout", STATEMENT_TIMEOUT],
  // Only while this replica shuts down: another replica answers the retry.
  ["Cannot use a pool after calling end on the pool", retry("history is shutting down")],
]);

/** The answer to one failure of the database or the driver, or undefined for anything else. */
function answerDatabaseError(err: unknown): Answer | undefined {
  if (err instanceof pg.DatabaseError) {
    const state = err.code ?? "";
    const answer = BY_SQLSTATE.get(state) ?? BY_SQLSTATE_CLASS.get(state.slice(0, 2));
    if (answer === undefined || err.constraint === undefined) return answer;
    return { ...answer, message: `${answer.message} (constraint ${err.constraint})` };
  }
  if (!(err instanceof Error)) return undefined;
  const errno = (err as NodeJS.ErrnoException).code;
  if (typeof errno === "string" && NETWORK_ERRNOS.has(errno)) return UNAVAILABLE;
  return DRIVER_MESSAGES.get(err.message);
}

/** History's own failures that tell the caller something about the request. */
function answerStoreError(err: unknown): ConnectError | undefined {
  if (err instanceof IdempotencyKeyConflictError) {
    return new ConnectError(
      `jobs[${err.index}].idempotency_key: ${JSON.stringify(err.key)} was used for a different request within the idempotency window; use another key`,
      Code.AlreadyExists,
    );
  }
  if (err instanceof IdempotencyKeyReservedError) {
    return new ConnectError(
      `idempotency_key: ${JSON.stringify(err.key)} belongs to job ${err.jobId}, which is no longer kept; use another key`,
      Code.AlreadyExists,
    );
  }
  if (err instanceof InsertRetriesExhaustedError) {
    // Each attempt lost a race for a key to a submit that has committed since: the next one sees it.
    const { code, message } = retry("idempotency keys of the batch were claimed by concurrent submits");
    return new ConnectError(message, code, undefined, undefined, err);
  }
  // An operator must fix the directory first, so retrying at once cannot help.
  if (err instanceof ArchiveError) return new ConnectError(err.message, Code.FailedPrecondition, undefined, undefined, err);
  return undefined;
}

/** Why a failure was answered as it was: `database` ones are worth an operator's look. */
export interface MappedError {
  error: ConnectError;
  /** Set when the failure came from PostgreSQL or the driver: its SQLSTATE or errno, if any. */
  database?: { code: string | undefined };
}

/**
 * The one place history turns a failure into the code its caller acts on:
 *
 * | failure | code |
 * | --- | --- |
 * | `ConnectError` a handler threw (`invalid_argument`, `not_found`, ...) | unchanged |
 * | idempotency key used for another request, or reserved for a job no longer kept | `already_exists` |
 * | insert retries used up by concurrent claims of the batch's keys | `unavailable` |
 * | retention archive not writable | `failed_precondition` |
 * | connection refused, reset or lost; SQLSTATE class 08 or 57 (shutdown, restart) | `unavailable` |
 * | no pooled connection free in time; statement (57014) or lock (55P03) timeout | `unavailable` |
 * | serialization failure (40001), deadlock (40P01); SQLSTATE class 53 | `unavailable` |
 * | unique violation (23505) | `already_exists` |
 * | foreign-key violation (23503) | `failed_precondition` |
 * | check (23514) or not-null (23502) violation | `invalid_argument` |
 *
 * A `CommitError` is answered by its cause: writes are idempotent, so retrying a commit of
 * unknown outcome is safe. Anything else is undefined: service-kit answers it as `internal`.
 */
export function mapError(err: unknown): MappedError | undefined {
  if (err instanceof ConnectError) return { error: err };
  const own = answerStoreError(err);
  if (own !== undefined) return { error: own };
  const cause = err instanceof CommitError ? err.cause : err;
  const answer = answerDatabaseError(cause);
  if (answer === undefined) return undefined;
  const code = (cause as { code?: unknown }).code;
  return {
    error: new ConnectError(answer.message, answer.code, undefined, undefined, err),
    database: { code: typeof code === "string" ? code : undefined },
  };
}

interface CallInfo {
  readonly signal: AbortSignal;
  readonly service: { readonly typeName: string };
  readonly method: { readonly name: string };
}

/**
 * Runs every call through {@link mapError}, streams included, and logs the database failures it
 * answers (the kit logs only what it answers as `internal`). A failure of a call that was
 * aborted (client gone, deadline, shutdown) is left to the kit, which answers with the abort's code.
 */
export function createErrorMapper(logger: Logger): Interceptor {
  const map = (err: unknown, call: CallInfo): unknown => {
    if (call.signal.aborted) return err;
    const mapped = mapError(err);
    if (mapped === undefined) return err;
    if (mapped.database !== undefined) {
      // The driver's message names the constraint or the address, never a row's values (`detail` has those).
      const cause = err instanceof CommitError ? err.cause : err;
      logger.warn(
        {
          procedure: `${call.service.typeName}/${call.method.name}`,
          code: codeToString(mapped.error.code),
          db_code: mapped.database.code,
          reason: (cause as Error).message,
        },
        "database failure answered",
      );
    }
    return mapped.error;
  };
  return (next) => async (req) => {
    try {
      const res = await next(req);
      if (!res.stream) return res;
      return { ...res, message: mapStream(res.message, (err) => map(err, req)) };
    } catch (err) {
      throw map(err, req);
    }
  };
}

async function* mapStream<T>(messages: AsyncIterable<T>, map: (err: unknown) => unknown): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    throw map(err);
  }
}
