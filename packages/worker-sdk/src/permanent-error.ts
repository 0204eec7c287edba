/**
 * A failure that retrying cannot fix (bad input, unknown entity): the job fails for good,
 * whatever attempts remain.
 */
export class PermanentError extends Error {
  override readonly name = "PermanentError";
  readonly permanent = true;
}

/** True for a PermanentError, also one thrown by another copy of this package. */
export const isPermanentError = (err: unknown): boolean =>
  err instanceof PermanentError ||
  (typeof err === "object" && err !== null && (err as { permanent?: unknown }).permanent === true);
