import { randomBytes } from "node:crypto";

/** A queue name no other test uses. */
export const uniqueQueue = (): string => `q-${randomBytes(4).toString("hex")}`;

/** A promise with its resolve function, to await an event a handler signals. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
