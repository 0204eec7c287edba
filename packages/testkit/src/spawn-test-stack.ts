import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { spawnStackService, type StackService } from "./stack-service.js";
import { startTcpBalancer, type TcpBalancer } from "./start-tcp-balancer.js";
import {
  createTestDatabase,
  deleteKeysWithPrefix,
  randomKeyPrefix,
  testRedisUrl,
  type TestDatabase,
} from "./stores.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const entry = (name: string): string => `${repoRoot}services/${name}/dist/main.js`;

/**
 * Replicas of the scheduler and of history when the caller names no count: two, so every test
 * on a spawned stack runs as a deployment does, with more than one of each
 * (`TEST_STACK_REPLICAS` overrides it, e.g. 1 to tell a replica bug from another).
 */
const DEFAULT_REPLICAS = 2;

export interface TestStackOptions {
  /** Scheduler processes (default 2), all on one Redis and key prefix, behind one balancer. */
  schedulers?: number;
  /** History processes (default 2), all on one database, behind one balancer. */
  histories?: number;
  /** Extra environment of every history process. */
  history?: NodeJS.ProcessEnv;
  /** Extra environment of every scheduler process. */
  scheduler?: NodeJS.ProcessEnv;
  /** Extra environment of the worker process, or false for no worker. */
  worker?: NodeJS.ProcessEnv | false;
  /** Print the services' output (for debugging a test). */
  echo?: boolean;
  /** Redis the scheduler uses (default the shared test server); a fault test passes a private one. */
  redisUrl?: string;
  /** Admin url of the PostgreSQL server the stack's database is made on (default the shared one). */
  databaseAdminUrl?: string;
  /** Script every worker process runs (default the worker service), e.g. a test's fixture worker. */
  workerEntry?: string;
}

/**
 * The three services running as separate processes on a database and key prefix of their own:
 * every scheduler and history replica its own process, each group behind a TCP balancer as a
 * Kubernetes Service would put it.
 */
export interface TestStack {
  /** The history balancer: what the schedulers and clients call. */
  historyUrl: string;
  /** The scheduler balancer: what workers and clients call. */
  schedulerUrl: string;
  db: TestDatabase;
  /** Redis the scheduler uses. */
  redisUrl: string;
  keyPrefix: string;
  /** The first history replica (`histories[0]`). */
  history: StackService;
  /** The first scheduler replica (`schedulers[0]`). */
  scheduler: StackService;
  /** Every history replica, each restartable on its own port behind the history balancer. */
  histories: StackService[];
  /** Every scheduler replica, each restartable on its own port behind the scheduler balancer. */
  schedulers: StackService[];
  /** The balancers in front of each group (how many connections each replica was handed). */
  balancers: { history: TcpBalancer; scheduler: TcpBalancer };
  /** Every worker process started, in order (exited ones included). */
  workers: StackService[];
  /** Starts one more worker process against this stack's scheduler balancer. */
  addWorker(env?: NodeJS.ProcessEnv): Promise<StackService>;
  /** Stops every process and balancer, drops the database and deletes the stack's Redis keys. */
  stop(): Promise<void>;
}

/**
 * Spawns `histories` history and `schedulers` scheduler replicas (two each unless told) and
 * (unless `worker: false`) one worker with the built-in handlers from their built
 * `dist/main.js`, every one on port 0, as a user's deployment runs them: separate processes
 * talking over real HTTP/2 sockets to a real Redis and PostgreSQL. Each process can be killed,
 * paused and started again on its port (see StackService); the balancers then send new
 * connections to the replicas that are up. History replicas share one page token secret, so a
 * token one signs the other honours.
 */
export async function spawnTestStack(opts: TestStackOptions = {}): Promise<TestStack> {
  const schedulerCount = replicaCount("schedulers", opts.schedulers);
  const historyCount = replicaCount("histories", opts.histories);
  const db = await createTestDatabase(opts.databaseAdminUrl);
  const keyPrefix = randomKeyPrefix();
  const redisUrl = opts.redisUrl ?? testRedisUrl();
  const started: StackService[][] = [];
  const balancers: TcpBalancer[] = [];
  const spawn = (service: string, portVar: string, env: NodeJS.ProcessEnv, script = entry(service), name = service): Promise<StackService> =>
    spawnStackService({
      name,
      entry: script,
      portVar,
      env: { ...process.env, LOG_LEVEL: "info", ...env },
      echo: opts.echo ?? false,
      graceMs: 10_000,
    });
  /** Starts `count` replicas at once (history's migrations take an advisory lock, so they may). */
  const spawnGroup = async (count: number, service: string, portVar: string, env: NodeJS.ProcessEnv): Promise<StackService[]> => {
    // Named "scheduler-1", "scheduler-2"... in errors and echoed output.
    const replica = (i: number) => spawn(service, portVar, env, entry(service), `${service}-${i + 1}`);
    const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => replica(i)));
    const group = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    started.push(group);
    const failed = results.find((r) => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    return group;
  };
  const balance = async (group: StackService[]): Promise<TcpBalancer> => {
    const balancer = await startTcpBalancer(group.map((s) => s.url));
    balancers.push(balancer);
    return balancer;
  };
  const stop = async (): Promise<void> => {
    const errors: unknown[] = [];
    const settle = async (work: Promise<unknown>[]): Promise<void> => {
      for (const r of await Promise.allSettled(work)) if (r.status === "rejected") errors.push(r.reason);
    };
    // Workers first, then schedulers, then history: each group stops while what it calls is up.
    for (const group of started.splice(0).reverse()) await settle(group.map((s) => s.stop()));
    await settle(balancers.splice(0).map((b) => b.close()));
    await settle([db.drop(), deleteKeysWithPrefix(redisUrl, keyPrefix)]);
    if (errors.length > 0) throw new AggregateError(errors, "the test stack did not stop cleanly");
  };
  try {
    const histories = await spawnGroup(historyCount, "history", "HISTORY_PORT", {
      DATABASE_URL: db.url,
      PAGE_TOKEN_SECRET: randomBytes(24).toString("hex"),
      ...opts.history,
    });
    const historyBalancer = await balance(histories);
    const schedulers = await spawnGroup(schedulerCount, "scheduler", "SCHEDULER_PORT", {
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: keyPrefix,
      HISTORY_URL: historyBalancer.url,
      ...opts.scheduler,
    });
    const schedulerBalancer = await balance(schedulers);
    const workers: StackService[] = [];
    started.push(workers);
    const addWorker = async (env: NodeJS.ProcessEnv = {}): Promise<StackService> => {
      const worker = await spawn("worker", "WORKER_PORT", { SCHEDULER_URL: schedulerBalancer.url, ...env }, opts.workerEntry);
      workers.push(worker);
      return worker;
    };
    if (opts.worker !== false) await addWorker(opts.worker);
    return {
      historyUrl: historyBalancer.url,
      schedulerUrl: schedulerBalancer.url,
      db,
      redisUrl,
      keyPrefix,
      history: histories[0]!,
      scheduler: schedulers[0]!,
      histories,
      schedulers,
      balancers: { history: historyBalancer, scheduler: schedulerBalancer },
      workers,
      addWorker,
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** The replica count asked for, else `TEST_STACK_REPLICAS`, else two. @throws Error when not a positive integer. */
function replicaCount(what: string, asked: number | undefined): number {
  const raw = process.env.TEST_STACK_REPLICAS;
  const count = asked ?? (raw === undefined || raw === "" ? DEFAULT_REPLICAS : Number(raw));
  if (!Number.isInteger(count) || count < 1) throw new Error(`${what}: a replica count must be a positive integer, got ${asked ?? raw}`);
  return count;
}

/**
 * Stops every one of `services` at once with `signal` (default SIGTERM), e.g. a whole group of
 * replicas for an outage of the service, and resolves once all have exited.
 */
export async function stopAll(services: readonly StackService[], signal?: NodeJS.Signals): Promise<void> {
  await Promise.all(services.map((s) => s.stop(signal)));
}

/**
 * Starts every one of `services` that has exited again on its port, at once. `env` as in
 * StackService.start. @throws Error when one does not start (the others are left running).
 */
export async function startAll(services: readonly StackService[], env?: NodeJS.ProcessEnv): Promise<void> {
  await Promise.all(services.filter((s) => s.exited).map((s) => s.start(env)));
}
