import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { formatLogLine, listeningInternalUrl, listeningUrl } from "./format-log-line.js";
import { DEFAULT_GRACE_MS, killOnExit, stopChild } from "./stop-child.js";
import { waitForLine } from "./wait-for-line.js";

/** How long a service may take to log "listening", in ms (it migrates and connects first). */
const DEFAULT_START_TIMEOUT_MS = 60_000;

/** Options of {@link spawnService}. */
export interface SpawnServiceOptions {
  /** Names the service in echoed output and errors, e.g. "history". */
  name: string;
  /** The script `node` runs, e.g. `services/history/dist/main.js`. */
  entry: string;
  /** The child's whole environment. */
  env: NodeJS.ProcessEnv;
  /** Flags of `node` itself, before the entry (e.g. `--cpu-prof`, which NODE_OPTIONS may not carry). */
  nodeArgs?: string[];
  /** Print the child's output, one line at a time, prefixed by its name. */
  echo?: boolean;
  /** How long to wait for the listening line, in ms (default 60 000). */
  timeoutMs?: number;
  /** Wait between the stop signal and SIGKILL, in ms (default 30 000). */
  graceMs?: number;
}

/** A service process that has logged that it is listening. */
export interface RunningService {
  name: string;
  /** The url from the service's `"msg":"listening"` line (the real port when asked for 0). */
  url: string;
  /** The `internal_url` of that line, when the service has an internal listener (history). */
  internalUrl?: string;
  child: ChildProcess;
  /** Sends `signal` (default SIGTERM), then SIGKILL after the grace; resolves once it exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Spawns `node <entry>` and resolves once it logs a pino line with `"msg":"listening"`.
 * Rejects with an Error holding the child's last lines of output when it exits first or does
 * not listen within the timeout (the child is killed then), or when `entry` does not exist.
 */
export async function spawnService(opts: SpawnServiceOptions): Promise<RunningService> {
  if (!existsSync(opts.entry)) {
    const hint = "build it: pnpm exec turbo run build";
    throw new Error(`${opts.name}: ${opts.entry} does not exist (${hint})`);
  }
  // Its own process group: a terminal's Ctrl-C reaches the launcher only, which stops the
  // services in order (worker first) instead of all at once.
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.entry], {
    env: opts.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  killOnExit(child);
  const echo = (line: string): void => {
    process.stdout.write(`${formatLogLine(opts.name, line)}\n`);
  };
  try {
    const line = await waitForLine(child, {
      name: opts.name,
      match: (l) => (listeningUrl(l) === undefined ? undefined : l),
      timeoutMs: opts.timeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      onLine: opts.echo ? echo : undefined,
    });
    const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
    const url = listeningUrl(line)!;
    const internalUrl = listeningInternalUrl(line);
    return { name: opts.name, url, internalUrl, child, stop: (signal) => stopChild(child, signal, graceMs) };
  } catch (err) {
    await stopChild(child, "SIGKILL");
    throw err;
  }
}
