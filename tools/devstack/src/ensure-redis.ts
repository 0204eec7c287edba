import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { findOnPath } from "./find-on-path.js";
import { freePort } from "./free-port.js";
import { pingRedis } from "./ping-redis.js";
import { killOnExit, stopChild } from "./stop-child.js";
import { storeDir } from "./store-dir.js";
import { waitForLine } from "./wait-for-line.js";

/** Where a Redis server usually runs on a developer's machine. */
const DEFAULT_PROBE = { host: "127.0.0.1", port: 6379 };
/** How long redis-server may take to accept connections, in ms. */
const START_TIMEOUT_MS = 10_000;
/** Wait between SIGTERM and SIGKILL when stopping it, in ms (it saves nothing, so exits fast). */
const STOP_GRACE_MS = 5_000;

/** Options of {@link ensureRedis}. */
export interface EnsureRedisOptions {
  /** Working folder of a started redis-server (default `<repo>/.taskflow/redis`). */
  dir?: string;
  /** Where REDIS_URL and PATH are read (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** The server to look for first (default 127.0.0.1:6379). */
  probe?: { host: string; port: number };
}

/** A Redis server to use, and how it was found. */
export interface RedisHandle {
  url: string;
  /** `env`: REDIS_URL; `local`: the probed server; `started`: a redis-server of our own. */
  source: "env" | "local" | "started";
  /** Stops the server if this call started it; otherwise does nothing. */
  stop(): Promise<void>;
}

/**
 * Finds a Redis server: REDIS_URL if set (used as given), else the probe address if it answers
 * PING, else a `redis-server` from PATH started on a free port as a child process.
 * Throws an Error saying what to install when there is none of these.
 */
export async function ensureRedis(opts: EnsureRedisOptions = {}): Promise<RedisHandle> {
  const env = opts.env ?? process.env;
  const nothing = async (): Promise<void> => {};
  if (env.REDIS_URL) return { url: env.REDIS_URL, source: "env", stop: nothing };
  const { host, port } = opts.probe ?? DEFAULT_PROBE;
  if (await pingRedis(host, port)) {
    return { url: `redis://${host}:${port}`, source: "local", stop: nothing };
  }
  const binary = findOnPath("redis-server", env.PATH);
  if (!binary) {
    throw new Error(
      `Redis is needed: nothing answers at ${host}:${port}, REDIS_URL is not set and ` +
        "redis-server is not on PATH. Install Redis (Debian/Ubuntu: sudo apt-get install " +
        "redis-server; macOS: brew install redis) or set REDIS_URL=redis://host:port.",
    );
  }
  return startRedisServer(binary, opts.dir ?? storeDir("redis"), env);
}

async function startRedisServer(
  binary: string,
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<RedisHandle> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  // A scratch server: no snapshots, no append-only file, and errors instead of evictions, so a
  // full memory never silently drops jobs.
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""];
  args.push("--appendonly", "no", "--maxmemory-policy", "noeviction", "--daemonize", "no");
  // Its own process group, so a terminal's Ctrl-C leaves it to the launcher to stop, last.
  const child = spawn(binary, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
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
  return {
    url: `redis://127.0.0.1:${port}`,
    source: "started",
    stop: () => stopChild(child, "SIGTERM", STOP_GRACE_MS),
  };
}
