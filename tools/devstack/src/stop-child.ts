import type { ChildProcess } from "node:child_process";
import { once } from "node:events";

/**
 * Default wait between the stop signal and SIGKILL, in ms. Longer than a worker's own drain
 * (SHUTDOWN_GRACE_MS, 25 s by default), so a worker finishing its jobs is not cut short.
 */
export const DEFAULT_GRACE_MS = 30_000;

const hasExited = (child: ChildProcess): boolean =>
  child.exitCode !== null || child.signalCode !== null;

/**
 * Sends `signal` to the child, then SIGKILL if it is still running after `graceMs`; resolves
 * once it has exited. Resolves at once for a child that has already exited.
 */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = "SIGTERM",
  graceMs = DEFAULT_GRACE_MS,
): Promise<void> {
  if (hasExited(child)) return;
  const exited = once(child, "exit");
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Kills the child when this process exits, even through an uncaught exception. Children run in
 * their own process group (so a terminal's Ctrl-C reaches only the launcher, which stops them in
 * order); without this they would outlive a launcher that dies.
 */
export function killOnExit(child: ChildProcess): void {
  const kill = (): void => {
    child.kill("SIGKILL");
  };
  process.on("exit", kill);
  child.once("exit", () => process.off("exit", kill));
}
