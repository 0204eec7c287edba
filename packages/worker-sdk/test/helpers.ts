import { randomBytes } from "node:crypto";

/** A queue name no other test uses. */
export const uniqueQueue = (): string => `q-${randomBytes(4).toString("hex")}`;

/** A promise with its resolve function, to await an event a handler signals. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let pauseMs = 10; ; pauseMs = Math.min(pauseMs * 2, 200)) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

/** A pino destination that resolves a promise when a line with message `msg` is logged. */
export function logWatch(msg: string): { stream: { write(line: string): void }; seen: Promise<void> } {
  const { promise, resolve } = deferred();
  return {
    stream: { write: (line) => (JSON.parse(line) as { msg?: string }).msg === msg && resolve() },
    seen: promise,
  };
}
