import { ConnectError, type Code } from "@connectrpc/connect";

/**
 * The error a call failed with, as a `ConnectError`.
 *
 * @throws {Error} when the call succeeds, which fails the test.
 */
export async function rejection(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

/** The Connect code a call failed with, or undefined when it succeeded. */
export async function codeOf(call: Promise<unknown>): Promise<Code | undefined> {
  try {
    await call;
    return undefined;
  } catch (err) {
    return ConnectError.from(err).code;
  }
}
