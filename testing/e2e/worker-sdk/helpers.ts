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

/** One log line as pino wrote it. */
export type LogLine = Record<string, unknown> & { msg?: string };

/**
 * A pino destination that keeps every line, so a test can read back what the worker saw (the
 * scheduler's answers it logged) and await a line that has not come yet.
 */
export class LogTap {
  readonly lines: LogLine[] = [];
  private waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];
  readonly stream = { write: (text: string): void => this.see(JSON.parse(text) as LogLine) };

  /** Lines logged so far with message `msg`. */
  withMsg(msg: string): LogLine[] {
    return this.lines.filter((l) => l.msg === msg);
  }

  /**
   * Resolves with the next line, from now on, that `match` accepts.
   * @throws Error when none comes within `timeoutMs`, naming `what`.
   */
  next(what: string, match: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line ${what} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ match, resolve: (line) => (clearTimeout(timer), resolve(line)) });
    });
  }

  private see(line: LogLine): void {
    this.lines.push(line);
    const waiting = this.waiters;
    this.waiters = waiting.filter((w) => !w.match(line));
    for (const w of waiting) if (w.match(line)) w.resolve(line);
  }
}
