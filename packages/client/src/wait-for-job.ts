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
 * Waits until job `id` is terminal and returns it: follows history's WatchJob stream, which
 * pushes each change as it is recorded (a history without it, `unimplemented`, is polled
 * instead: 25 ms apart at first, backing off to 1 s). A not_found is retried the same way,
 * because the scheduler acknowledges a submit before history readers may see it on a replica.
 * @throws WaitTimeoutError when the job is not terminal after `timeoutMs`.
 * @throws the signal's reason when `signal` aborts; any other ConnectError of history.
 */
export async function waitForJob(
  history: Client<typeof HistoryService>,
  id: string,
  options: WaitForOptions = {},
): Promise<Job> {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const deadline = Date.now() + timeoutMs;
  let delayMs = firstDelayMs;
  const seen: { status?: JobStatus } = {};
  let watching = true;
  for (;;) {
    options.signal?.throwIfAborted();
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) throw new WaitTimeoutError(id, timeoutMs, seen.status);
    let job: Job | undefined;
    try {
      job = watching ? await watchUntilTerminal(history, id, remainingMs, options.signal, seen) : await getUnlessMissing(history, id, remainingMs, options.signal);
    } catch (err) {
      if (!watching || ConnectError.from(err).code !== Code.Unimplemented) throw err;
      watching = false;
      continue;
    }
    if (job !== undefined) {
      if (isTerminal(job.status)) return job;
      seen.status = job.status;
    }
    const pauseMs = Math.min(delayMs, deadline - Date.now());
    if (pauseMs > 0) await pause(pauseMs, options.signal);
    delayMs = Math.min(delayMs * 2, maxDelayMs);
  }
}

/**
 * Follows WatchJob until the job is terminal and returns it; undefined when history does not
 * know the job yet or the wait's deadline cut the stream. Notes every status seen in `seen`.
 * @throws `unimplemented` from a history without WatchJob, as any other ConnectError.
 */
async function watchUntilTerminal(
  history: Client<typeof HistoryService>,
  id: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  seen: { status?: JobStatus },
): Promise<Job | undefined> {
  try {
    // Read to the stream's end, which follows the terminal message: a call left early would keep
    // its deadline timer, and the process, alive.
    let terminal: Job | undefined;
    for await (const { job } of history.watchJob({ jobId: id }, { timeoutMs, signal })) {
      if (job === undefined) continue;
      if (isTerminal(job.status)) terminal = job;
      else seen.status = job.status;
    }
    return terminal;
  } catch (err) {
    return missingOrThrow(err, signal);
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
    return missingOrThrow(err, signal);
  }
}

/** Undefined for a job history does not know yet or a call cut by the wait's own deadline; otherwise throws. */
function missingOrThrow(err: unknown, signal: AbortSignal | undefined): undefined {
  const code = ConnectError.from(err).code;
  if (code === Code.NotFound) return undefined;
  // A call cut short by our own deadline is a timeout of the wait, not an RPC failure.
  if (code === Code.DeadlineExceeded && !signal?.aborted) return undefined;
  if (signal?.aborted) throw signal.reason;
  throw err;
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    throw signal?.aborted ? signal.reason : err;
  }
}
