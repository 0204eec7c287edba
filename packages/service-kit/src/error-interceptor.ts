import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";

/** Message every unexpected failure reaches the caller with; details stay in our log. */
export const INTERNAL_ERROR_MESSAGE = "internal error";

interface CallInfo {
  readonly signal: AbortSignal;
  readonly service: { readonly typeName: string };
  readonly method: { readonly name: string };
}

/**
 * Lets a handler's `ConnectError` through untouched and turns anything else into
 * `Code.Internal` with the message "internal error", logging the original as `err`. A driver's
 * message can hold SQL, hostnames or payload fragments, so it never reaches the caller; the
 * original stays on the thrown error's `cause`. A failure caused by the call being aborted
 * (client gone, deadline passed, server shutting down) is not our bug: it becomes the abort's
 * own code (`Canceled`, `DeadlineExceeded`, `Unavailable`) and is not logged as an error.
 * Streams are covered too: a generator that throws mid-stream is mapped the same way.
 */
export function createErrorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      const res = await next(req);
      if (!res.stream) return res;
      return { ...res, message: mapStreamErrors(res.message, (err) => toConnectError(err, req, logger)) };
    } catch (err) {
      throw toConnectError(err, req, logger);
    }
  };
}

async function* mapStreamErrors<T>(
  messages: AsyncIterable<T>,
  map: (err: unknown) => ConnectError,
): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    throw map(err);
  }
}

function toConnectError(err: unknown, call: CallInfo, logger: Logger): ConnectError {
  if (err instanceof ConnectError) return err;
  if (call.signal.aborted) return ConnectError.from(call.signal.reason, Code.Canceled);
  logger.error({ err, procedure: procedureOf(call) }, "internal error");
  return new ConnectError(INTERNAL_ERROR_MESSAGE, Code.Internal, undefined, undefined, err);
}

/** `taskflow.v1.SchedulerService/SubmitJobs`, the gRPC path without its leading slash. */
export function procedureOf(call: Pick<CallInfo, "service" | "method">): string {
  return `${call.service.typeName}/${call.method.name}`;
}
