/**
 * Resolves once the wake that `arm` receives is called, after `ms`, or when `signal` aborts,
 * whichever comes first, leaving no timer or listener behind. For loops that sleep until news
 * (a callback they hand out) or a recheck period, without an AbortController per wait.
 */
export function wakeOrTimeout(ms: number, signal: AbortSignal, arm: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    arm(done);
  });
}
