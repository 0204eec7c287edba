import { createHash } from "node:crypto";
import { stringify } from "safe-stable-stringify";
import type { NewJob } from "./validate.js";

/**
 * A digest of what a submit asked for (type, queue, payload with its keys sorted, priority,
 * attempts, timeout, delay or run time): history refuses an idempotency key reused with another
 * digest (`already_exists`), so a key never silently returns a different job. The payload is
 * canonical, so the same object sent with its keys in another order is the same request.
 */
export function requestDigest(job: NewJob): string {
  const canonical = stringify([
    job.type, job.queue, job.payload, job.priority, job.maxAttempts, job.timeoutMs, job.delayMs, job.runAtMs,
  ]);
  return `sha256:${createHash("sha256").update(canonical ?? "").digest("base64url")}`;
}
