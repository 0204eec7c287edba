import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { Logger } from "pino";
import { procedureOf } from "./error-interceptor.js";

/**
 * Logs one debug line per finished call (`rpc finished`, with `procedure`, `code` and
 * `duration_ms`); a stream is finished when its last message was sent or it failed. Calls are
 * routine, so they stay at debug: internal errors are already logged at error by the error
 * interceptor, which runs inside this one and so has mapped the code this one records.
 */
export function createLoggingInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const startedMs = performance.now();
    const finish = (err?: unknown): void => {
      if (!logger.isLevelEnabled("debug")) return;
      logger.debug(
        { procedure: procedureOf(req), code: codeName(err), duration_ms: Math.round(performance.now() - startedMs) },
        "rpc finished",
      );
    };
    return callThen(next, req, finish);
  };
}

type Next = Parameters<Interceptor>[0];

/**
 * Runs the call and calls `end` once it is over: a unary call when it answers or fails, a stream
 * when its last message was sent, it failed, or the client went away (see {@link onStreamEnd}).
 */
export async function callThen(next: Next, req: Parameters<Next>[0], end: (err?: unknown) => void): ReturnType<Next> {
  try {
    const res = await next(req);
    if (!res.stream) {
      end();
      return res;
    }
    return { ...res, message: onStreamEnd(res.message, end) };
  } catch (err) {
    end(err);
    throw err;
  }
}

/** Passes `messages` on and calls `end` once when the stream completes, fails or is abandoned. */
export async function* onStreamEnd<T>(messages: AsyncIterable<T>, end: (err?: unknown) => void): AsyncIterable<T> {
  let outcome: { err?: unknown } = { err: new ConnectError("stream abandoned", Code.Canceled) };
  try {
    yield* messages;
    outcome = {};
  } catch (err) {
    outcome = { err };
    throw err;
  } finally {
    // Reached on completion, on failure, and when the consumer stops early (the client went away).
    end(outcome.err);
  }
}

/** `ok`, or the code as the Connect protocol spells it (`invalid_argument`). */
function codeName(err: unknown): string {
  return err === undefined ? "ok" : codeToString(ConnectError.from(err).code);
}
