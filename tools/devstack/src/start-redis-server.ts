import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { killOnExit, stopChild } from "./stop-child.js";
import { waitForLine } from "./wait-for-line.js";

/** How long redis-server may take to accept connections, in ms. */
const START_TIMEOUT_MS = 10_000;
/** Wait between SIGTERM and SIGKILL when stopping it, in ms (it saves nothing, so exits fast). */
const STOP_GRACE_MS = 5_000;

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** The program to run (default `redis-server`, looked up on the PATH of `env`). */
  binary?: string;
  /** Its working folder, made when missing (default a new temporary folder, removed by stop()). */
  dir?: string;
  /** Arguments after the defaults, e.g. `["--maxmemory-policy", "allkeys-lru"]`; a later one wins. */
  args?: readonly string[];
  /** Its environment (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /**
   * A process group of its own, so a terminal's Ctrl-C reaches only the launcher, which stops it
   * last (`npm start`). Tests leave it in theirs: an interrupted run takes it down too.
   */
  detached?: boolean;
}

/** A redis-server child process. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`; the same across restarts. */
  url: string;
  /** Kills the server (SIGKILL) and starts an empty one on the same port: every key is lost. */
  restart(): Promise<void>;
  /**
   * Stops the server with `signal` (default SIGTERM, then SIGKILL after 5 s) and removes the
   * temporary folder it made. Safe to call again.
   */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts redis-server on a free port of 127.0.0.1, as a scratch server: no snapshots, no
 * append-only file (a restart loses every key), and errors instead of evictions, so a full
 * memory never silently drops jobs (TaskFlow requires `noeviction`). Resolves once it accepts
 * connections.
 * @throws Error when it cannot be started or is not ready within 10 s (with its last output).
 */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const ownDir = opts.dir === undefined ? await mkdtemp(join(tmpdir(), "tf-redis-")) : undefined;
  const dir = opts.dir ?? ownDir!;
  const removeOwnDir = async (): Promise<void> => {
    if (ownDir !== undefined) await rm(ownDir, { recursive: true, force: true });
  };
  try {
    await mkdir(dir, { recursive: true });
    const port = await freePort();
    const launch = (): Promise<ChildProcess> => launchServer(port, dir, opts);
    let child = await launch();
    return {
      url: `redis://127.0.0.1:${port}`,
      restart: async () => {
        await stopChild(child, "SIGKILL");
        child = await launch();
      },
      stop: async (signal = "SIGTERM") => {
        await stopChild(child, signal, STOP_GRACE_MS);
        await removeOwnDir();
      },
    };
  } catch (err) {
    await removeOwnDir();
    throw err;
  }
}

async function launchServer(port: number, dir: string, opts: RedisServerOptions): Promise<ChildProcess> {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""];
  args.push("--appendonly", "no", "--maxmemory-policy", "noeviction", "--daemonize", "no", ...(opts.args ?? []));
  const child = spawn(opts.binary ?? "redis-server", args, {
    env: opts.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: opts.detached ?? false,
  });
  killOnExit(child);
  try {
    await waitForLine(child, {
      name: "redis-server",
      match: (line) => (line.includes("Ready to accept connections") ? true : undefined),
      timeoutMs: START_TIMEOUT_MS,
    });
  } catch (err) {
    await stopChild(child, "SIGKILL");
    throw err;
  }
  return child;
}
