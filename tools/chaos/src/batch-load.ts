import { setTimeout as sleep } from "node:timers/promises";
import type { SubmitInput } from "@taskflow/client";
import type { Prng } from "@taskflow/testkit";

/** Jobs per SubmitJobs call: small, so one failed call loses little of the load. */
const MAX_BATCH = 10;
/** SubmitJobs calls in flight at once, at most. */
const SUBMITTERS = 4;

/** What a load did: every job offered and which submits the scheduler answered. */
export interface LoadTally {
  /** Jobs offered (acknowledged or not). */
  submitted: number;
  /** Ids of the jobs the scheduler answered with. */
  acknowledged: string[];
  /** Jobs whose SubmitJobs call failed (they may still exist: a commit can precede the failure). */
  unanswered: number;
}

export interface BatchLoadOptions {
  /** Sends one batch; resolves with the job ids, in order. */
  submit(inputs: SubmitInput[]): Promise<string[]>;
  /** Jobs offered per second. */
  rate: number;
  /** How long the load runs, in ms. */
  durationMs: number;
  /** Picks each job's kind. */
  prng: Prng;
  /** Ends the load early. */
  signal: AbortSignal;
}

/**
 * Offers `rate` jobs per second for `durationMs`, in small batches from a few concurrent
 * submitters, whatever the answers are. Batch b is sent no earlier than b * batch / rate s in;
 * a submitter that falls behind sends at once. Bounded: at most duration * rate jobs. Counts
 * into `tally` as it goes (read it for progress).
 */
export async function runBatchLoad(opts: BatchLoadOptions, tally: LoadTally = emptyTally()): Promise<LoadTally> {
  const batch = Math.max(1, Math.min(MAX_BATCH, Math.round(opts.rate / 10)));
  const batches = Math.ceil((opts.rate * opts.durationMs) / 1000 / batch);
  const start = performance.now();
  let next = 0;
  const submitter = async (): Promise<void> => {
    for (let b = next++; b < batches && !opts.signal.aborted; b = next++) {
      const due = start + (b * batch * 1000) / opts.rate - performance.now();
      if (due > 0) await sleep(due, undefined, { signal: opts.signal }).catch(() => undefined);
      if (opts.signal.aborted) return;
      const inputs = Array.from({ length: batch }, (_, i) => jobInput(b * batch + i, opts.prng));
      tally.submitted += inputs.length;
      try {
        tally.acknowledged.push(...(await opts.submit(inputs)));
      } catch {
        tally.unanswered += inputs.length;
      }
    }
  };
  await Promise.all(Array.from({ length: SUBMITTERS }, submitter));
  return tally;
}

/** A tally of nothing yet. */
export const emptyTally = (): LoadTally => ({ submitted: 0, acknowledged: [], unanswered: 0 });

/** Attempts of every job: each kill of its worker or loss of its lease uses one up. */
const MAX_ATTEMPTS = 10;

/**
 * Job `n` of the mix: 60 % echo, 25 % sleep of 50 to 300 ms, 15 % flaky failing its first one or
 * two attempts on purpose (the fixture worker logs those as "fail", not as duplicates).
 */
export function jobInput(n: number, prng: Prng): SubmitInput {
  const roll = prng.next();
  if (roll < 0.6) return { type: "echo", payload: { n }, maxAttempts: MAX_ATTEMPTS };
  if (roll < 0.85) return { type: "sleep", payload: { n, ms: prng.int(50, 300) }, maxAttempts: MAX_ATTEMPTS };
  return { type: "flaky", payload: { n, failures: prng.int(1, 2) }, maxAttempts: MAX_ATTEMPTS };
}
