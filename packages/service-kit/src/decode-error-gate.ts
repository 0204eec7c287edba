import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";

/** What connect-es puts before the reason a request body failed to decode as protobuf binary. */
export const BINARY_DECODE_PREFIX = "parse binary: ";

/**
 * A `requestGate` that makes a request body which does not decode as protobuf binary (cut
 * short, a string field that is not UTF-8, nested past the decoder's recursion limit) fail with
 * `InvalidArgument`, as an undecodable JSON body already does. connect-es reports it as
 * `Internal`, blaming the server for the caller's bytes, and raises it before any interceptor
 * runs. It does hand the error to the call's abort signal right before writing it out, so the
 * gate listens there and corrects the code, and the message that carries the code, in place.
 */
export function invalidArgumentOnDecodeError(ctx: HandlerContext): void {
  const signal = ctx.signal;
  signal.addEventListener(
    "abort",
    () => {
      const err: unknown = signal.reason;
      if (!(err instanceof ConnectError) || err.code !== Code.Internal) return;
      if (!err.rawMessage.startsWith(BINARY_DECODE_PREFIX)) return;
      const corrected = new ConnectError(err.rawMessage, Code.InvalidArgument);
      Object.assign(err, { code: corrected.code, message: corrected.message });
    },
    { once: true },
  );
}
