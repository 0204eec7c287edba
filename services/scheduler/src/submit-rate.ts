/** How fast one identity may submit: a token bucket of `burst` jobs refilled at `ratePerS`. */
export interface SubmitRate {
  /** Jobs per second on average; 0: no limit. */
  readonly ratePerS: number;
  /** Most jobs at once (the bucket's size), also the largest batch the identity may submit. */
  readonly burst: number;
}

/** The submit rate limits of a deployment (SUBMIT_RATE_PER_S, SUBMIT_BURST, SUBMIT_RATE_OVERRIDES). */
export interface SubmitRates {
  /** Every identity's limit unless overridden; identity "" (authentication off) is one identity. */
  readonly default: SubmitRate;
  /** Limits of named identities, winning over the default (a rate of 0 exempts one). */
  readonly overrides: ReadonlyMap<string, SubmitRate>;
}

/** Most jobs per second one identity may be given. */
export const MAX_RATE_PER_S = 1_000_000;
/** Largest bucket, in jobs. */
export const MAX_BURST = 100_000_000;
/** An unset burst holds this many seconds of the rate (or at least one largest batch). */
const DEFAULT_BURST_SECONDS = 10;

/** The limit `name`'s submits are held to (its override, else the default). */
export const submitRateOf = (rates: SubmitRates, name: string): SubmitRate => rates.overrides.get(name) ?? rates.default;

/**
 * The burst an unset SUBMIT_BURST (or an override without one) means: ten seconds of the rate,
 * and never less than MAX_SUBMIT_BATCH, so that every batch the API accepts fits the bucket.
 */
export const defaultBurst = (ratePerS: number, maxSubmitBatch: number): number =>
  Math.min(MAX_BURST, Math.max(ratePerS * DEFAULT_BURST_SECONDS, maxSubmitBatch));

/**
 * Parses `name=rate[:burst],...` (`billing=500:5000,etl=2000`); a missing burst is
 * {@link defaultBurst}. Names are identity names as the tokens file, JWT `sub` or certificate
 * give them; they hold no `=` or `,`.
 * @returns the overrides by name, or the first problem found.
 */
export function parseRateOverrides(text: string, maxSubmitBatch: number): Map<string, SubmitRate> | string {
  const overrides = new Map<string, SubmitRate>();
  for (const item of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^([^=\s]+)=(\d+)(?::(\d+))?$/.exec(item);
    if (m === null) return `${JSON.stringify(item)} must be name=rate or name=rate:burst, rate and burst whole numbers`;
    const [, name = "", rateText = "", burstText] = m;
    const ratePerS = Number(rateText);
    const burst = burstText === undefined ? defaultBurst(ratePerS, maxSubmitBatch) : Number(burstText);
    if (ratePerS > MAX_RATE_PER_S) return `${name}: the rate must be at most ${MAX_RATE_PER_S} jobs per second`;
    if (burst < 1 || burst > MAX_BURST) return `${name}: the burst must be from 1 to ${MAX_BURST} jobs`;
    if (overrides.has(name)) return `${name} is listed twice`;
    overrides.set(name, { ratePerS, burst });
  }
  return overrides;
}
