import { readFileSync, unwatchFile, watchFile, type Stats } from "node:fs";
import type { Logger } from "pino";

/** How often a watched file is looked at for changes, in ms. */
export const WATCH_INTERVAL_MS = 1_000;

/**
 * A file's parsed contents, read again whenever the file changes (it is polled, so a Kubernetes
 * Secret's symlink swap is seen as well as an edit in place). A change that does not parse keeps
 * the previous contents and is logged at error: a bad edit must not lock every caller out.
 */
export class WatchedFile<T> {
  private current: T;
  private readonly listener: (now: Stats, before: Stats) => void;

  /** @throws Error when the file cannot be read or parsed now. */
  constructor(
    readonly path: string,
    private readonly parse: (text: string) => T,
    private readonly logger: Logger,
    intervalMs = WATCH_INTERVAL_MS,
    /** Called after each reload that parsed. */
    onReload?: () => void,
  ) {
    this.current = this.read();
    this.listener = (now, before) => {
      if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return;
      try {
        this.current = this.read();
        this.logger.info({ file: path }, "file reloaded");
        onReload?.();
      } catch (err) {
        this.logger.error({ err, file: path }, "file changed but cannot be used; keeping what it held before");
      }
    };
    watchFile(path, { interval: intervalMs, persistent: false }, this.listener);
  }

  get value(): T {
    return this.current;
  }

  close(): void {
    unwatchFile(this.path, this.listener);
  }

  private read(): T {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (err) {
      throw new Error(`cannot read ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    return this.parse(text);
  }
}
