/** Why a running attempt was stopped. */
export type AbortKind = "timeout" | "cancel" | "lost" | "shutdown";

/** The reason of a JobContext signal once it aborts. */
export class JobAbortError extends Error {
  override readonly name = "JobAbortError";
  constructor(
    readonly kind: AbortKind,
    message: string,
  ) {
    super(message);
  }
}
