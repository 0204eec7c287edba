/** Largest `JobProgress.details`, as compact JSON in UTF-8, in bytes. */
export const MAX_PROGRESS_DETAILS_BYTES = 4096;

/**
 * What is wrong with a progress value, or undefined when it is within the documented limits:
 * `percent` a finite number from 0 to 100, `details` (a JSON object) at most
 * {@link MAX_PROGRESS_DETAILS_BYTES} as compact JSON. The worker SDK, the scheduler and history
 * check the same limits with it.
 */
export function progressProblem(percent: number, details: unknown): string | undefined {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) return "percent must be a number from 0 to 100";
  if (details === null || typeof details !== "object" || Array.isArray(details)) return "details must be a JSON object";
  const bytes = new TextEncoder().encode(JSON.stringify(details)).length;
  if (bytes > MAX_PROGRESS_DETAILS_BYTES) {
    return `details must be at most ${MAX_PROGRESS_DETAILS_BYTES} bytes as JSON (got ${bytes})`;
  }
  return undefined;
}
