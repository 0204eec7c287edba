/**
 * Maps Redis's clock (the scripts' only clock, `TIME`) to this process's monotonic clock
 * (`performance.now()`), so that a due time in Redis's clock becomes a local timer.
 *
 * Each sample is Redis's time and the local time its answer arrived; Redis read its clock
 * before that, so the offset taken from it is at most the true one. Due times mapped with it
 * land a little late (by up to the sample's round trip), never early, unless either clock jumps
 * between samples; a timer that fires early finds nothing due and re-arms from a fresh read.
 */
export class RedisClock {
  /** Redis's ms minus local monotonic ms; until the first sample, the local wall clock's. */
  private offsetMs = Date.now() - performance.now();

  /** Records that Redis said `redisMs` and the answer arrived at local `receivedMs`. */
  sample(redisMs: number, receivedMs: number): void {
    this.offsetMs = redisMs - receivedMs;
  }

  /** Redis's time at local time `localMs` (a lower bound). */
  toRedis(localMs: number): number {
    return localMs + this.offsetMs;
  }

  /** The local time at which Redis's clock reaches `redisMs` (an upper bound). */
  toLocal(redisMs: number): number {
    return redisMs - this.offsetMs;
  }

  /** Redis's time now, as far as this process knows (a lower bound). */
  now(): number {
    return this.toRedis(performance.now());
  }
}

/** Redis `TIME` (seconds, microseconds) in ms since the Unix epoch, with its fraction. */
export function timeReplyMs(reply: readonly (string | number)[]): number {
  return Number(reply[0]) * 1000 + Number(reply[1]) / 1000;
}
