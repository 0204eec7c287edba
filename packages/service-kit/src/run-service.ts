import type { Logger } from "pino";

/** Options of {@link runService}. */
export interface RunServiceOptions {
  logger: Logger;
  /** Starts the service; what it returns is closed on SIGTERM or SIGINT. */
  start: () => Promise<{ close(): Promise<void> }>;
}

/** The parts of `process` that {@link runService} uses. */
export interface ServiceProcess {
  once(event: "SIGTERM" | "SIGINT", listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
}

/**
 * The body of a service's `main.ts`: awaits `start()`; on the first SIGTERM or SIGINT closes
 * what it started, once, and exits 0. A `start()` or `close()` that throws is logged and exits 1.
 * A signal that arrives while `start()` is still running closes the service as soon as it is up.
 */
export function runService(opts: RunServiceOptions): void {
  runServiceIn(process, opts);
}

/** {@link runService} against an explicit process, so tests can deliver signals and see exits. */
export function runServiceIn(proc: ServiceProcess, { logger, start }: RunServiceOptions): void {
  let stopping = false;
  const started = start();
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    started
      .then((service) => service.close())
      .then(
        () => {
          logger.info("stopped");
          proc.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, "shutdown failed");
          proc.exit(1);
        },
      );
  };
  proc.once("SIGTERM", stop);
  proc.once("SIGINT", stop);
  started.catch((err: unknown) => {
    logger.fatal({ err }, "start failed");
    proc.exit(1);
  });
}
