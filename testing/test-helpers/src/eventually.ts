/**
 * Polls `probe` until it returns a value other than undefined, and returns that value. For
 * state another process reaches in its own time (history hearing from the outbox forwarder, a
 * lease expiring), where there is no event to await. A probe that throws is tried again, since
 * the state may not exist yet.
 *
 * @param timeoutMs how long to keep trying, in ms.
 * @throws {Error} after `timeoutMs`, with the probe's last error as `cause`.
 */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  // Short pauses first, so a state reached at once costs little; capped to keep the load low.
  for (let pauseMs = 10; ; pauseMs = Math.min(pauseMs * 2, 100)) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`, { cause: last });
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}
