/**
 * A seeded pseudo-random generator (sfc32 seeded through murmur3's finaliser). The history
 * bench's data must be the same on every run with the same `--seed`, whichever machine or
 * Node version runs it, so it cannot use Math.random; sfc32 is small, fast and passes
 * PractRand, which is plenty for test data.
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /**
   * @param seed any 32-bit unsigned integer
   * @param stream independent sequence number: the same seed gives unrelated sequences for
   *   different streams, so each block of jobs can be generated on its own.
   */
  constructor(seed: number, stream = 0) {
    this.a = fmix32(seed ^ 0x9e3779b9);
    this.b = fmix32(stream ^ 0x85ebca6b);
    this.c = fmix32((seed + Math.imul(stream, 0x27d4eb2f)) ^ 0xc2b2ae35);
    this.d = 1;
    // sfc32's first outputs are still close to the seed words; drop them.
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** The next 32 random bits as an unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.u32() / 4_294_967_296;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One of `items`, uniformly; `items` must not be empty. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** `n` random hex digits. */
  hex(n: number): string {
    let out = "";
    while (out.length < n) out += hex32(this.u32());
    return out.length === n ? out : out.slice(0, n);
  }

  /**
   * A log-normal draw with the given median: most values near it, a long right tail whose
   * weight grows with `sigma`. Waits and run times of real jobs are shaped so.
   */
  logNormal(median: number, sigma: number): number {
    // Box-Muller; 1 - next() is in (0, 1], so the log is finite.
    const z = Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
    return median * Math.exp(sigma * z);
  }
}

/** Two hex digits of every byte value: formatting ids is the generator's hottest path. */
const BYTE_HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** Eight hex digits of a 32-bit unsigned integer. */
export const hex32 = (x: number): string =>
  (BYTE_HEX[x >>> 24] as string) + (BYTE_HEX[(x >>> 16) & 255] as string) + (BYTE_HEX[(x >>> 8) & 255] as string) + (BYTE_HEX[x & 255] as string);

/** murmur3's 32-bit finaliser: spreads every input bit over the output. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Picks items with probability proportional to their weights, in O(log n) per draw. */
export class WeightedTable<T> {
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(
    readonly items: readonly T[],
    weights: readonly number[],
  ) {
    if (items.length === 0 || items.length !== weights.length) throw new Error("WeightedTable: one weight per item, at least one item");
    this.cumulative = new Float64Array(items.length);
    let sum = 0;
    weights.forEach((w, i) => {
      if (!(w >= 0)) throw new Error("WeightedTable: weights must not be negative");
      sum += w;
      this.cumulative[i] = sum;
    });
    if (!(sum > 0)) throw new Error("WeightedTable: weights must not all be zero");
    this.total = sum;
  }

  /** The probability of `items[i]`. */
  probability(i: number): number {
    return ((this.cumulative[i] ?? 0) - (this.cumulative[i - 1] ?? 0)) / this.total;
  }

  /** One item, drawn with `rng`. */
  draw(rng: Random): T {
    const x = rng.next() * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cumulative[mid] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo] as T;
  }
}

/** Zipf weights 1/rank^s for ranks 1..n: a few items are frequent, most are rare. */
export const zipfWeights = (n: number, s = 1): number[] => Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
