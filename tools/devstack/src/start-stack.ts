import { join } from "node:path";
import { ensurePostgres, type PostgresHandle } from "./ensure-postgres.js";
import { ensureRedis, type RedisHandle } from "./ensure-redis.js";
import { spawnService, type RunningService } from "./spawn-service.js";
import { repoRoot } from "./store-dir.js";

/** The services of the stack, in start order. */
export type ServiceName = "history" | "scheduler" | "worker";

/** Port variable and default port of each service (as in each service's config). */
const PORTS: Record<ServiceName, { variable: string; port: number }> = {
  history: { variable: "HISTORY_PORT", port: 50052 },
  scheduler: { variable: "SCHEDULER_PORT", port: 50051 },
  worker: { variable: "WORKER_PORT", port: 50053 },
};

/** Options of {@link startStack}. */
export interface StackOptions {
  /** Ports to listen on (0: any free port); beat SCHEDULER_PORT, HISTORY_PORT, WORKER_PORT. */
  ports?: Partial<Record<ServiceName, number>>;
  /** Added to `process.env` for the services; DATABASE_URL, REDIS_URL and ports are read here. */
  env?: NodeJS.ProcessEnv;
  /** Print the services' output, prefixed by their names. */
  echo?: boolean;
  /** Scripts to run instead of `services/<name>/dist/main.js` (tests use stand-ins). */
  entries?: Partial<Record<ServiceName, string>>;
}

/** The running stack. */
export interface Stack {
  /** Base url of each service, e.g. `http://127.0.0.1:50051` for the scheduler. */
  urls: Record<ServiceName, string>;
  postgres: PostgresHandle;
  redis: RedisHandle;
  /** history, scheduler, worker. */
  services: RunningService[];
  /** Stops worker, scheduler, history, then the stores it started; safe to call again. */
  stop(): Promise<void>;
}

/**
 * Finds or starts PostgreSQL and Redis, then spawns history, scheduler and one worker in that
 * order, each given the urls of what it needs. Throws the first failure (a service's Error holds
 * its last lines of output) after stopping whatever had started.
 */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const env = { ...process.env, ...opts.env };
  const stoppers: Array<() => Promise<void>> = [];
  const stop = once(() => stopInOrder(stoppers));
  const launch = async (name: ServiceName, own: NodeJS.ProcessEnv): Promise<RunningService> => {
    const { variable, port } = PORTS[name];
    const entry = opts.entries?.[name] ?? join(repoRoot, "services", name, "dist", "main.js");
    const listenPort = String(opts.ports?.[name] ?? env[variable] ?? port);
    const service = await spawnService({
      name,
      entry,
      env: { ...env, ...own, [variable]: listenPort },
      echo: opts.echo ?? false,
    });
    stoppers.unshift(() => service.stop());
    return service;
  };
  try {
    const postgres = await ensurePostgres({ env });
    stoppers.unshift(() => postgres.stop());
    const redis = await ensureRedis({ env });
    stoppers.unshift(() => redis.stop());
    const history = await launch("history", { DATABASE_URL: postgres.url });
    const scheduler = await launch("scheduler", { REDIS_URL: redis.url, HISTORY_URL: history.url });
    const worker = await launch("worker", { SCHEDULER_URL: scheduler.url });
    const urls = { history: history.url, scheduler: scheduler.url, worker: worker.url };
    return { urls, postgres, redis, services: [history, scheduler, worker], stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Runs each stopper in turn, even after one fails, and then throws the first failure. */
async function stopInOrder(stoppers: Array<() => Promise<void>>): Promise<void> {
  let failure: unknown;
  for (const stop of stoppers) {
    await stop().catch((err: unknown) => {
      failure ??= err;
    });
  }
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- a stopper's rejection, as it was
  if (failure !== undefined) throw failure;
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
