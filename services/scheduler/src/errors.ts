import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { QuotaFailureSchema, RetryInfoSchema } from "@taskflow/proto/gen/google/rpc/error_details_pb.js";

/**
 * Negative codes the Lua scripts return. Positive replies are results; these
 * name the conditions a caller must turn into an error.
 */
export enum ScriptCode {
  /** Redis does not know the job (never enqueued, or its tombstone expired). */
  JobMissing = -1,
  /** The job already reached a terminal status. */
  JobFinished = -2,
}

/** Whether a script reply is one of the named negative codes. */
export const isScriptCode = (reply: unknown): reply is ScriptCode =>
  reply === ScriptCode.JobMissing || reply === ScriptCode.JobFinished;

/** Turns a script's negative code into the error the caller should see. */
export function scriptCodeError(code: ScriptCode, jobId: string): ConnectError {
  switch (code) {
    case ScriptCode.JobMissing:
      // History knows the job but Redis does not (yet): a retry finds it enqueued or reconciled.
      return new ConnectError(
        `job ${jobId} is not in the queue yet; retry shortly`,
        Code.Unavailable,
      );
    case ScriptCode.JobFinished:
      return jobFinished(jobId);
  }
}

/** Bad request field; `field` is its path, e.g. `jobs[3].priority`. */
export function invalidArgument(field: string, problem: string): ConnectError {
  return new ConnectError(`${field}: ${problem}`, Code.InvalidArgument);
}

/** A field over a size limit; `field` is its path, e.g. `jobs[3].payload`. */
export function resourceExhausted(field: string, problem: string): ConnectError {
  return new ConnectError(`${field}: ${problem}`, Code.ResourceExhausted);
}

/**
 * A submit over its identity's rate limit: `resource_exhausted` with a `google.rpc.RetryInfo`
 * (when the tokens will be there) and a `google.rpc.QuotaFailure` naming the limit, and a
 * `retry-after` header in whole seconds, rounded up, for callers that read only HTTP.
 */
export function submitRateExceeded(identity: string, jobs: number, ratePerS: number, burst: number, retryMs: number): ConnectError {
  const who = identity === "" ? "unauthenticated callers" : `identity ${identity}`;
  const limit = `${ratePerS} jobs per second, bursts of ${burst}`;
  return new ConnectError(
    `submit rate limit of ${who} (${limit}) exceeded by ${jobs} jobs; retry in ${retryMs} ms`,
    Code.ResourceExhausted,
    { "retry-after": String(Math.max(1, Math.ceil(retryMs / 1000))) },
    [
      { desc: RetryInfoSchema, value: { retryDelay: durationFromMs(retryMs) } },
      { desc: QuotaFailureSchema, value: { violations: [{ subject: `identity:${identity}`, description: `submit rate limit: ${limit}` }] } },
    ],
  );
}

/** A job history does not know. */
export const jobNotFound = (jobId: string): ConnectError =>
  new ConnectError(`job ${jobId} not found`, Code.NotFound);

/** A job that already reached a terminal status. */
export const jobFinished = (jobId: string): ConnectError =>
  new ConnectError(`job ${jobId} already finished`, Code.FailedPrecondition);

/**
 * Maps a Redis failure: a connection failure (Redis down, offline queue
 * disabled, retries used up) becomes `unavailable` so the caller retries; a
 * reply error is our bug and stays as it is, which the kit reports as `internal`.
 */
export function fromRedisError(err: unknown): Error {
  if (err instanceof ConnectError) return err;
  if (err instanceof Error && err.name === "ReplyError") return err;
  return new ConnectError("queue store unavailable", Code.Unavailable, undefined, undefined, err);
}

/** Runs one Redis call, turning a connection failure into `unavailable` (see {@link fromRedisError}). */
export async function callRedis<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromRedisError(err);
  }
}

/** Codes from history that describe the caller's request and pass through unchanged. */
const CALLER_CODES = new Set([
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.FailedPrecondition,
  Code.ResourceExhausted,
]);

/**
 * Maps a failed history call: errors about the request pass through, every
 * other failure (history down, timeout, its own bug) becomes `unavailable`.
 */
export function fromHistoryError(err: unknown): ConnectError {
  const ce = ConnectError.from(err);
  if (CALLER_CODES.has(ce.code)) return ce;
  return new ConnectError("history unavailable", Code.Unavailable, undefined, undefined, err);
}
