/** A promise with its resolve function, to await an event a handler signals. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A pino destination that resolves a promise when a line with message `msg` is logged. */
export function logWatch(msg: string): { stream: { write(line: string): void }; seen: Promise<void> } {
  const { promise, resolve } = deferred();
  return {
    stream: { write: (line) => (JSON.parse(line) as { msg?: string }).msg === msg && resolve() },
    seen: promise,
  };
}
