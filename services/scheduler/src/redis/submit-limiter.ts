import { callRedis, invalidArgument, submitRateExceeded } from "../errors.js";
import { submitRateOf, type SubmitRates } from "../submit-rate.js";
import { submitRateKey } from "./keys.js";
import type { RedisClient } from "./redis-client.js";
import { defineScripts, type ScriptOptions, type Scripts } from "./scripts.js";

export interface SubmitLimiterOptions extends ScriptOptions {
  /** Testing only: the clock the buckets run on, ms since the Unix epoch; default Redis's. */
  now?: () => number;
}

/**
 * The submit rate limits, one token bucket per identity in Redis (take-tokens.lua), so every
 * replica of the scheduler draws from the same bucket: one script call per submit call (not per
 * job), before anything is written. Identities without a limit cost no Redis call at all.
 */
export class SubmitLimiter {
  private readonly scripts: Scripts;

  constructor(
    redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly rates: SubmitRates,
    private readonly opts: SubmitLimiterOptions = {},
  ) {
    this.scripts = defineScripts(redis, opts);
  }

  /**
   * Takes `jobs` tokens from `identity`'s bucket.
   * @throws resource_exhausted with RetryInfo when the bucket holds too few now (nothing is
   *   taken); invalid_argument when `jobs` exceeds the bucket's size (no wait would help);
   *   unavailable when Redis cannot be reached.
   */
  async take(identity: string, jobs: number): Promise<void> {
    const { ratePerS, burst } = submitRateOf(this.rates, identity);
    if (ratePerS === 0) return;
    if (jobs > burst) {
      throw invalidArgument("jobs", `${jobs} jobs exceed the submit burst of ${burst} jobs of ${identity === "" ? "unauthenticated callers" : identity}; submit at most ${burst} per call`);
    }
    const now = this.opts.now?.() ?? "";
    const key = submitRateKey(this.keyPrefix, identity);
    const reply = (await callRedis(() => this.scripts["take-tokens"]([key], [1000 / ratePerS, burst, jobs, now]))) as [number, number];
    if (reply[0] !== 1) throw submitRateExceeded(identity, jobs, ratePerS, burst, reply[1]);
  }
}
