import { join } from "node:path";
import { ensurePostgres, type PostgresHandle } from "./ensure-postgres.js";
import { ensureRedis, type RedisHandle } from "./ensure-redis.js";
import { spawnService, type RunningService, type SpawnServiceOptions } from "./spawn-service.js";
import { repoRoot } from "./store-dir.js";

/** The services of the stack, in start order. */
export type ServiceName = "history" | "scheduler" | "worker" | "dashboard";
/** The services that may run as several replicas behind one address. */
export type ReplicatedService = "history" | "scheduler";

/** Port variable and default port of each service (as in each service's config), and its script under `services/`. */
const SERVICES: Record<ServiceName, { variable: string; port: number; entry: string }> = {
  history: { variable: "HISTORY_PORT", port: 50052, entry: "history/dist/main.js" },
  scheduler: { variable: "SCHEDULER_PORT", port: 50051, entry: "scheduler/dist/main.js" },
  worker: { variable: "WORKER_PORT", port: 50053, entry: "worker/dist/main.js" },
  dashboard: { variable: "DASHBOARD_PORT", port: 8080, entry: "dashboard/dist/server/main.js" },
};

/** How the stack starts one process: spawnService's options, and the variable that sets its port. */
export interface LaunchOptions extends SpawnServiceOptions {
  /** e.g. SCHEDULER_PORT; `env` already sets it. */
  portVar: string;
}

/** One address in front of a group of replicas, as a Kubernetes Service (e.g. a TCP balancer). */
export interface Front {
  url: string;
  close(): Promise<void>;
}

/** Options of {@link startStack}. */
export interface StackOptions<S extends RunningService = RunningService> {
  /** Ports to listen on (0: any free port); beat SCHEDULER_PORT, HISTORY_PORT, WORKER_PORT, DASHBOARD_PORT. */
  ports?: Partial<Record<ServiceName, number>>;
  /** Added to `process.env` for the services; DATABASE_URL, REDIS_URL and ports are read here. */
  env?: NodeJS.ProcessEnv;
  /** Print the services' output, prefixed by their names. */
  echo?: boolean;
  /** Scripts to run instead of `services/<name>/dist/main.js` (the dashboard's `dist/server/main.js`; tests use stand-ins). */
  entries?: Partial<Record<ServiceName, string>>;
  /** Flags of `node` for one service's processes (e.g. `--cpu-prof`). */
  nodeArgs?: Partial<Record<ServiceName, string[]>>;
  /** Environment of one service's processes, over `env` and the urls the stack gives it. */
  serviceEnv?: Partial<Record<ServiceName, NodeJS.ProcessEnv>>;
  /**
   * Processes of history and of the scheduler (default one each), started together and named
   * `scheduler-1`, `scheduler-2`…; more than one needs `front`, and port 0.
   */
  replicas?: Partial<Record<ReplicatedService, number>>;
  /**
   * Puts each history and scheduler group behind one address, which the services after it and
   * clients then call (default: the group's single process, called directly); called again with
   * "internal" for history's internal listeners.
   */
  front?: (service: ReplicatedService, urls: string[], listener?: "internal") => Promise<Front>;
  /** Worker processes started with the stack (default 1); `addWorker` starts more. */
  workers?: number;
  /**
   * Start the dashboard last, in front of the scheduler's and history's public addresses
   * (default false: tests and benchmarks need no web pages; `devstack start` starts it).
   */
  dashboard?: boolean;
  /** Starts one process (default spawnService; required when S is a handle of another kind). */
  launch?: (opts: LaunchOptions) => Promise<S>;
  /** Wait between a stop signal and SIGKILL, in ms (default spawnService's). */
  graceMs?: number;
}

/** The replicas of one service, and the address the others call them at. */
export interface ServiceGroup<S extends RunningService = RunningService> {
  url: string;
  /** History's internal listener (behind its own front with several replicas). */
  internalUrl?: string;
  replicas: S[];
}

/** The running stack. */
export interface Stack<S extends RunningService = RunningService> {
  /**
   * What each service is called at, e.g. `http://127.0.0.1:50051` for the scheduler; no worker
   * url without workers, no dashboard url without the dashboard.
   */
  urls: { history: string; scheduler: string; worker?: string; dashboard?: string };
  postgres: PostgresHandle;
  redis: RedisHandle;
  history: ServiceGroup<S>;
  scheduler: ServiceGroup<S>;
  /** Every worker process started, in order (`addWorker` adds to it). */
  workers: S[];
  /** The dashboard's process, when asked for. */
  dashboard?: S;
  /** Every process the stack started with, in start order: history, scheduler, worker, dashboard. */
  services: S[];
  /** Starts one more worker against the scheduler; `env` over the stack's. */
  addWorker(env?: NodeJS.ProcessEnv): Promise<S>;
  /**
   * Stops the dashboard, the workers, the scheduler, history (the replicas of one service at
   * once, each front before its replicas), then the stores it started, trying everything; safe
   * to call again. @throws the failure, or an AggregateError of several.
   */
  stop(): Promise<void>;
}

/**
 * Finds or starts PostgreSQL and Redis, then spawns history, scheduler, the workers and (when
 * asked) the dashboard in that order, each given the urls of what it needs. Throws the first
 * failure (a service's Error holds its last lines of output) after stopping whatever had started.
 */
export async function startStack<S extends RunningService = RunningService>(opts: StackOptions<S> = {}): Promise<Stack<S>> {
  const env = { ...process.env, ...opts.env };
  const stoppers = new Stoppers();
  try {
    const postgres = await ensurePostgres({ env });
    stoppers.add(() => postgres.stop());
    const redis = await ensureRedis({ env });
    stoppers.add(() => redis.stop());
    const starter = new Starter(opts, env, stoppers);
    const history = await starter.group("history", { DATABASE_URL: postgres.url });
    const scheduler = await starter.group("scheduler", { REDIS_URL: redis.url, HISTORY_URL: history.internalUrl ?? history.url });
    const workers: S[] = [];
    stoppers.add(() => stopAtOnce(workers));
    const addWorker = async (own: NodeJS.ProcessEnv = {}): Promise<S> => {
      const worker = await starter.one("worker", "worker", { SCHEDULER_URL: scheduler.url, ...own });
      workers.push(worker);
      return worker;
    };
    for (let i = 0; i < (opts.workers ?? 1); i++) await addWorker();
    // The browser's calls go to the public listeners, as a user's would: never history's internal one.
    const dashboard =
      opts.dashboard === true
        ? await starter.one("dashboard", "dashboard", { SCHEDULER_URL: scheduler.url, HISTORY_URL: history.url })
        : undefined;
    if (dashboard !== undefined) stoppers.add(() => dashboard.stop());
    const urls = { history: history.url, scheduler: scheduler.url, worker: workers[0]?.url, dashboard: dashboard?.url };
    const services = [...history.replicas, ...scheduler.replicas, ...workers, ...(dashboard === undefined ? [] : [dashboard])];
    return { urls, postgres, redis, history, scheduler, workers, dashboard, services, addWorker, stop: stoppers.once() };
  } catch (err) {
    await stoppers.run().catch(() => undefined);
    throw err;
  }
}

/** Starts the processes of one stack, registering each with the stoppers as it starts. */
class Starter<S extends RunningService> {
  private readonly launch: (opts: LaunchOptions) => Promise<S>;

  constructor(
    private readonly opts: StackOptions<S>,
    private readonly env: NodeJS.ProcessEnv,
    private readonly stoppers: Stoppers,
  ) {
    this.launch = opts.launch ?? ((o) => spawnService(o) as Promise<S>);
  }

  /** Spawns one process of `service`; `own` lies over the stack's environment for it. */
  one(service: ServiceName, name: string, own: NodeJS.ProcessEnv): Promise<S> {
    const { variable, port, entry: script } = SERVICES[service];
    const entry = this.opts.entries?.[service] ?? join(repoRoot, "services", ...script.split("/"));
    const listenPort = String(this.opts.ports?.[service] ?? this.env[variable] ?? port);
    // History's internal listener follows its public one onto a free port.
    const internal = service === "history" && listenPort === "0" ? { HISTORY_INTERNAL_PORT: "0" } : {};
    const env = { ...this.env, ...this.opts.serviceEnv?.[service], ...own, [variable]: listenPort, ...internal };
    const nodeArgs = this.opts.nodeArgs?.[service];
    return this.launch({ name, entry, env, nodeArgs, portVar: variable, echo: this.opts.echo ?? false, graceMs: this.opts.graceMs });
  }

  /**
   * Spawns the replicas of `service` at once (history's migrations take an advisory lock, so its
   * replicas may start together), then its front. @throws the first start's error, once every
   * start has ended.
   */
  async group(service: ReplicatedService, wiring: NodeJS.ProcessEnv): Promise<ServiceGroup<S>> {
    const count = this.opts.replicas?.[service] ?? 1;
    if (count > 1 && this.opts.front === undefined) throw new Error(`${service}: ${count} replicas need a front`);
    const replicas: S[] = [];
    this.stoppers.add(() => stopAtOnce(replicas));
    const name = (i: number): string => (count > 1 ? `${service}-${i + 1}` : service);
    const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => this.one(service, name(i), wiring)));
    replicas.push(...results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : [])));
    const failed = results.find((r) => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    const internalUrls = replicas.flatMap((r) => (r.internalUrl === undefined ? [] : [r.internalUrl]));
    if (this.opts.front === undefined) return { url: replicas[0]!.url, internalUrl: internalUrls[0], replicas };
    const front = await this.opts.front(service, replicas.map((r) => r.url));
    this.stoppers.add(() => front.close());
    if (internalUrls.length === 0) return { url: front.url, replicas };
    const internalFront = await this.opts.front(service, internalUrls, "internal");
    this.stoppers.add(() => internalFront.close());
    return { url: front.url, internalUrl: internalFront.url, replicas };
  }
}

/** Stops every one of `services` at once; rejects with the first failure once all have ended. */
async function stopAtOnce(services: readonly RunningService[]): Promise<void> {
  const failed = (await Promise.allSettled(services.map((s) => s.stop()))).find((r) => r.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}

/** What stops each part of a stack, run last added first. */
class Stoppers {
  private readonly stoppers: Array<() => Promise<void>> = [];

  add(stop: () => Promise<void>): void {
    this.stoppers.push(stop);
  }

  /** Runs each stopper, last added first, even after one fails; then throws what failed. */
  async run(): Promise<void> {
    const failures: unknown[] = [];
    for (const stop of this.stoppers.splice(0).reverse()) {
      await stop().catch((err: unknown) => failures.push(err));
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, "the stack did not stop cleanly");
  }

  /** {@link run}, once: later calls get the first call's outcome. */
  once(): () => Promise<void> {
    let running: Promise<void> | undefined;
    return () => (running ??= this.run());
  }
}
