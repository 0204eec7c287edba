import { CommanderError } from "commander";
import { Code, ConnectError } from "@connectrpc/connect";
import { WaitTimeoutError } from "@taskflow/client";

/** Exit code of a call TaskFlow refused (or could not be reached for), or of a job that ended badly. */
export const EXIT_REFUSED = 1;
/** Exit code of a command line that does not make sense (unknown option, bad value, clashing flags). */
export const EXIT_USAGE = 2;

/** A command line that cannot be run as written: reported with exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * What the command prints on stderr for `err`, and the exit code it ends with. A refused call
 * reads `not_found: job 123 was not found`; a usage error reads `error: ...`.
 */
export function describeFailure(err: unknown): { message: string; exitCode: number } {
  if (err instanceof UsageError) return { message: `error: ${err.message}`, exitCode: EXIT_USAGE };
  if (err instanceof CommanderError) {
    // Commander has already printed its message or the help; --help and --version end well.
    return { message: "", exitCode: err.exitCode === 0 ? 0 : EXIT_USAGE };
  }
  if (err instanceof WaitTimeoutError) return { message: `deadline_exceeded: ${err.message}`, exitCode: EXIT_REFUSED };
  if (err instanceof ConnectError) {
    return { message: `${codeName(err.code)}: ${err.rawMessage}`, exitCode: EXIT_REFUSED };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { message: `error: ${message}`, exitCode: EXIT_REFUSED };
}

/** The Connect name of a code, e.g. `not_found`, `invalid_argument`. */
function codeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}
