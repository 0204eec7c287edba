import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/** Lines of a child's output kept for the error when it fails to start. */
const TAIL_LINES = 20;

/** Options of {@link waitForLine}. */
export interface WaitForLineOptions<T> {
  /** Names the child in error messages. */
  name: string;
  /** Returns a value for the stdout line that means "ready", else undefined. */
  match: (line: string) => T | undefined;
  /** How long to wait, in ms. */
  timeoutMs: number;
  /** Sees every line of stdout and stderr, before and after the match (for echoing). */
  onLine?: (line: string) => void;
}

/**
 * Reads a child's stdout and stderr line by line until `match` returns a value for a stdout line,
 * and resolves with it. Rejects with an Error holding the child's last lines of output when the
 * child exits first, fails to spawn, or `timeoutMs` passes.
 */
export function waitForLine<T>(child: ChildProcess, opts: WaitForLineOptions<T>): Promise<T> {
  const tail: string[] = [];
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const settle = (finish: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      finish();
    };
    const fail = (why: string): void =>
      settle(() => {
        const output = tail.length > 0 ? `; its last output:\n${tail.join("\n")}` : "";
        reject(new Error(`${opts.name} ${why}${output}`));
      });
    const timer = setTimeout(() => fail(`was not ready after ${opts.timeoutMs} ms`), opts.timeoutMs);
    const read = (stream: NodeJS.ReadableStream | null, matches: boolean): void => {
      if (!stream) return;
      createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
        opts.onLine?.(line);
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        const value = matches && !done ? opts.match(line) : undefined;
        if (value !== undefined) settle(() => resolve(value));
      });
    };
    read(child.stdout, true);
    read(child.stderr, false);
    // "close" rather than "exit": it comes after the output is read, so the tail is complete.
    child.once("close", (code: number | null, signal: NodeJS.Signals | null) =>
      fail(`exited (${signal ?? `code ${code}`}) before it was ready`),
    );
    child.once("error", (err) => fail(`could not be started: ${err.message}`));
  });
}
