import { findOnPath } from "./find-on-path.js";
import { pingRedis } from "./ping-redis.js";
import { startRedisServer } from "./start-redis-server.js";
import { storeDir } from "./store-dir.js";

/** Where a Redis server usually runs on a developer's machine. */
const DEFAULT_PROBE = { host: "127.0.0.1", port: 6379 };

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
  // A process group of its own: a terminal's Ctrl-C leaves it to the launcher to stop, last.
  const server = await startRedisServer({ binary, dir: opts.dir ?? storeDir("redis"), env, detached: true });
  return { url: server.url, source: "started", stop: () => server.stop() };
}
