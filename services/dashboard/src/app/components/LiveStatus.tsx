import type { ReactNode } from "react";
import { describeError } from "../api.js";

/** Where a followed stream stands: connecting, live, ended (the stream finished), or waiting to reconnect after `error`. */
export type LiveState =
  | { kind: "connecting" }
  | { kind: "live" }
  | { kind: "ended" }
  | { kind: "retrying"; error: unknown; inMs: number };

/** First wait before reconnecting, in ms; doubled after each failure up to {@link MAX_BACKOFF_MS}. */
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;

/**
 * Follows a server stream until `signal` aborts: `open` starts it, each message goes to
 * `onMessage` (with whether it is the first of a reconnection), and after an error or an
 * unexpected end it reconnects after a backoff that doubles from 1 s to 30 s and starts again
 * once a message arrives. A stream that `endsByItself` (WatchJob of a job turned terminal) is
 * not reopened when it ends cleanly.
 */
export async function followStream<T>(opts: {
  open: (signal: AbortSignal) => AsyncIterable<T>;
  onMessage: (message: T, reconnected: boolean) => void;
  onState: (state: LiveState) => void;
  signal: AbortSignal;
  endsByItself?: boolean;
}): Promise<void> {
  const { open, onMessage, onState, signal, endsByItself = false } = opts;
  let backoff = FIRST_BACKOFF_MS;
  for (let attempt = 0; !signal.aborted; attempt++) {
    let first = true;
    let error: unknown = new Error("the stream ended");
    try {
      for await (const message of open(signal)) {
        onMessage(message, first && attempt > 0);
        if (first) onState({ kind: "live" });
        first = false;
        backoff = FIRST_BACKOFF_MS;
      }
      if (endsByItself) {
        onState({ kind: "ended" });
        return;
      }
    } catch (err) {
      error = err;
    }
    if (signal.aborted) return;
    onState({ kind: "retrying", error, inMs: backoff });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, backoff);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    if (!signal.aborted) onState({ kind: "connecting" });
  }
}

/** A one-line account of a followed stream, announced politely to screen readers. */
export function LiveStatus({ state, what }: { state: LiveState; what: string }): ReactNode {
  const text =
    state.kind === "live"
      ? `live: ${what}`
      : state.kind === "connecting"
        ? `connecting to ${what}…`
        : state.kind === "ended"
          ? `${what}: finished`
          : `${what} interrupted (${describeError(state.error)}); reconnecting in ${Math.round(state.inMs / 1_000)} s`;
  return (
    <span className={`hint live live-${state.kind}`} role="status" data-live={state.kind}>
      {text}
    </span>
  );
}
