import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { JobStatus, type HistoryService, type Job } from "@taskflow/proto";
import { isTerminal } from "./job-json.js";

/** Options of {@link waitForJob}. */
export interface WaitForOptions {
  /** Longest wait in milliseconds (default 60 000). */
  timeoutMs?: number;
  /** Stops waiting early; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Raised when a job is still not terminal when `waitFor` gives up. */
export class WaitTimeoutError extends Error {
  override readonly name = "WaitTimeoutError";
  constructor(
    readonly jobId: string,
    readonly timeoutMs: number,
    /** Status last seen, or undefined when history never knew the job. */
    readonly lastStatus: JobStatus | undefined,
  ) {
    const seen = lastStatus === undefined ? "not found" : JobStatus[lastStatus];
    super(`job ${jobId} did not finish within ${timeoutMs} ms (last status: ${seen})`);
  }
}

const firstDelayMs = 25;
const maxDelayMs = 1000;
const defaultTimeoutMs = 60_000;

/**
 * Polls history until job `id` is terminal and returns it. Polls start 25 ms apart and back off
 * to 1 s. A not_found is retried, because the scheduler acknowledges a submit before history
 * readers may see it on a replica.
 * @throws WaitTimeoutError when the job is not terminal after `timeoutMs`.
 * @throws the signal's reason when `signal` aborts; any other ConnectError of GetJob.
 */
export async function waitForJob(
  history: Client<typeof HistoryService>,
  id: string,
  options: WaitForOptions = {},
): Promise<Job> {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const deadline = Date.now() + timeoutMs;
  let delayMs = firstDelayMs;
  let lastStatus: JobStatus | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) throw new WaitTimeoutError(id, timeoutMs, lastStatus);
    const job = await getUnlessMissing(history, id, remainingMs, options.signal);
    if (job !== undefined) {
      if (isTerminal(job.status)) return job;
      lastStatus = job.status;
    }
    const pauseMs = Math.min(delayMs, deadline - Date.now());
    if (pauseMs > 0) await pause(pauseMs, options.signal);
    delayMs = Math.min(delayMs * 2, maxDelayMs);
  }
}

async function getUnlessMissing(
  history: Client<typeof HistoryService>,
  id: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Job | undefined> {
  try {
    const res = await history.getJob({ id }, { timeoutMs, signal });
    return res.job;
  } catch (err) {
    const code = ConnectError.from(err).code;
    if (code === Code.NotFound) return undefined;
    // A poll cut short by our own deadline is a timeout of the wait, not an RPC failure.
    if (code === Code.DeadlineExceeded && !signal?.aborted) return undefined;
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    throw signal?.aborted ? signal.reason : err;
  }
}
