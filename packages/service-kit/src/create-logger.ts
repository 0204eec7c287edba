import { pino, type DestinationStream, type Logger } from "pino";

/** Levels a service accepts in `LOG_LEVEL`, quietest last. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Service name, written as `name` on every line. */
  name: string;
  /** One of {@link LOG_LEVELS}; default `info`. */
  level?: string;
}

/**
 * The root logger of a service: pino JSON lines on stdout, one object per line, with the level
 * as a label (`"level":"info"`) and an ISO timestamp, so log pipelines need no level table.
 * Components take a `child({ component })` of it.
 *
 * @param destination where lines go instead of stdout (tests read them back).
 * @throws {Error} when `level` is not a pino level.
 */
export function createLogger(opts: LoggerOptions, destination?: DestinationStream): Logger {
  const options = {
    name: opts.name,
    level: opts.level ?? "info",
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
