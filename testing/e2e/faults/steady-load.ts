import { ConnectError } from "@connectrpc/connect";
import type { Job, SubmitInput } from "@taskflow/client";

/** One submit of a load and how it ended. */
export interface SubmitOutcome {
  /** Index of the submit; the job's payload carries it as `n`. */
  n: number;
  /** When the call was made and when it ended (ms since the epoch, this process's clock). */
  sentAt: number;
  endedAt: number;
  /** The acknowledged job, or the error the call failed with. */
  job?: Job;
  error?: ConnectError;
}

export interface SteadyLoad {
  /** Submits so far. */
  readonly outcomes: readonly SubmitOutcome[];
  /** Ends the loop (after the call in flight) and resolves with every outcome. */
  stop(): Promise<SubmitOutcome[]>;
}

export interface SteadyLoadOptions {
  /** Sends one job. */
  submit(input: SubmitInput): Promise<Job>;
  /** The job of submit `n` (its payload should carry `n`, so a failed submit can be found). */
  input(n: number): SubmitInput;
  /** Pause between submits, in ms: the load's pace, not a wait for any state. */
  paceMs: number;
  /** The loop stops by itself after this long, in ms, even if nobody calls stop(). */
  maxDurationMs: number;
}

/**
 * Submits one job after another, at a steady pace, whatever the answers are, and records every
 * outcome: the load a fault case injects its fault under.
 */
export function startSteadyLoad(opts: SteadyLoadOptions): SteadyLoad {
  const outcomes: SubmitOutcome[] = [];
  const deadline = Date.now() + opts.maxDurationMs;
  let stopped = false;
  const loop = (async () => {
    for (let n = 0; !stopped && Date.now() < deadline; n++) {
      const sentAt = Date.now();
      try {
        const job = await opts.submit(opts.input(n));
        outcomes.push({ n, sentAt, endedAt: Date.now(), job });
      } catch (err) {
        outcomes.push({ n, sentAt, endedAt: Date.now(), error: ConnectError.from(err) });
      }
      await new Promise((resolve) => setTimeout(resolve, opts.paceMs));
    }
  })();
  return {
    outcomes,
    stop: async () => {
      stopped = true;
      await loop;
      return outcomes;
    },
  };
}

/** Ids of the acknowledged jobs among `outcomes`. */
export const ackedIds = (outcomes: readonly SubmitOutcome[]): string[] =>
  outcomes.flatMap((o) => (o.job === undefined ? [] : [o.job.id]));
