import { randomBytes } from "node:crypto";
import { startStack, type Stack } from "@taskflow/devstack";
import { spawnStackService, type StackService } from "./stack-service.js";
import type { RedisCluster } from "./start-redis-cluster.js";
import { startTcpBalancer, type TcpBalancer } from "./start-tcp-balancer.js";
import {
  createTestDatabase,
  deleteKeysWithPrefix,
  randomKeyPrefix,
  testRedisUrl,
  type TestDatabase,
} from "./stores.js";

/**
 * Replicas of the scheduler and of history when the caller names no count: two, so every test
 * on a spawned stack runs as a deployment does, with more than one of each
 * (`TEST_STACK_REPLICAS` overrides it, e.g. 1 to tell a replica bug from another).
 */
const DEFAULT_REPLICAS = 2;
/** Wait between a stop signal and SIGKILL, in ms. */
const GRACE_MS = 10_000;

export interface TestStackOptions {
  /** Scheduler processes (default 2), all on one Redis and key prefix, behind one balancer. */
  schedulers?: number;
  /** History processes (default 2), all on one database, behind one balancer. */
  histories?: number;
  /** Extra environment of every history process. */
  history?: NodeJS.ProcessEnv;
  /** Extra environment of every scheduler process. */
  scheduler?: NodeJS.ProcessEnv;
  /** Flags of `node` for the processes of a service (e.g. `--cpu-prof` for a profile). */
  nodeArgs?: { history?: string[]; scheduler?: string[]; worker?: string[] };
  /** Extra environment of the worker process, or false for no worker. */
  worker?: NodeJS.ProcessEnv | false;
  /** Print the services' output (for debugging a test). */
  echo?: boolean;
  /** Redis the scheduler uses (default the shared test server); a fault test passes a private one. */
  redisUrl?: string;
  /** A Redis Cluster the schedulers use instead (REDIS_CLUSTER_NODES), e.g. from startRedisCluster. */
  redisCluster?: RedisCluster;
  /** Admin url of the PostgreSQL server the stack's database is made on (default the shared one). */
  databaseAdminUrl?: string;
  /** Script every worker process runs (default the worker service), e.g. a test's fixture worker. */
  workerEntry?: string;
  /**
   * Services and clients call the one replica of each group directly, past the balancers (only
   * with one scheduler and one history): for benchmarks, where relaying every byte in the test's
   * process would take CPU the services should have.
   */
  direct?: boolean;
}

/**
 * The three services running as separate processes on a database and key prefix of their own:
 * every scheduler and history replica its own process, each group behind a TCP balancer as a
 * Kubernetes Service would put it.
 */
export interface TestStack {
  /** The history balancer: what the schedulers and clients call. */
  historyUrl: string;
  /** The balancer in front of history's internal listeners, which the schedulers call. */
  historyInternalUrl: string;
  /** The scheduler balancer: what workers and clients call. */
  schedulerUrl: string;
  db: TestDatabase;
  /**
   * Redis the scheduler uses; with `redisCluster`, its first master (a plain connection there
   * reaches that node's slots only).
   */
  redisUrl: string;
  /** The Redis Cluster the schedulers use, when given one. */
  redisCluster?: RedisCluster;
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
  balancers: { history: TcpBalancer; historyInternal: TcpBalancer; scheduler: TcpBalancer };
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
  if (opts.direct === true && schedulerCount + historyCount > 2) throw new Error("direct: one scheduler and one history only");
  const db = await createTestDatabase(opts.databaseAdminUrl);
  const keyPrefix = randomKeyPrefix();
  const cluster = opts.redisCluster;
  const redisUrl = cluster?.urls[0] ?? opts.redisUrl ?? testRedisUrl();
  // Every master holds keys of its own slots: each is swept for the stack's keys.
  const redisUrls = cluster?.urls ?? [redisUrl];
  // With a cluster, REDIS_URL (its first master) only keeps the stack from looking for a Redis;
  // the schedulers' REDIS_CLUSTER_NODES wins over it.
  const clusterEnv = cluster === undefined ? {} : { REDIS_CLUSTER_NODES: cluster.nodesSetting };
  const balancers: Partial<TestStack["balancers"]> = {};
  // The processes first: what they write meanwhile is deleted with the rest.
  const stop = async (running: Stack<StackService> | undefined): Promise<void> => {
    const errors: unknown[] = [];
    await running?.stop().catch((err: unknown) => errors.push(err));
    const deletes = redisUrls.map((url) => deleteKeysWithPrefix(url, keyPrefix));
    for (const r of await Promise.allSettled([db.drop(), ...deletes])) {
      if (r.status === "rejected") errors.push(r.reason);
    }
    if (errors.length > 0) throw new AggregateError(errors, "the test stack did not stop cleanly");
  };
  let stack: Stack<StackService> | undefined;
  try {
    stack = await startStack<StackService>({
      env: { DATABASE_URL: db.url, REDIS_URL: redisUrl, LOG_LEVEL: "info" },
      ports: { history: 0, scheduler: 0, worker: 0 },
      serviceEnv: {
        history: { PAGE_TOKEN_SECRET: randomBytes(24).toString("hex"), ...opts.history },
        scheduler: { REDIS_KEY_PREFIX: keyPrefix, ...clusterEnv, ...opts.scheduler },
      },
      entries: { worker: opts.workerEntry },
      nodeArgs: opts.nodeArgs,
      replicas: { history: historyCount, scheduler: schedulerCount },
      front: async (service, urls, listener) => {
        const balancer = await startTcpBalancer(urls);
        if (listener === "internal") balancers.historyInternal = balancer;
        else balancers[service] = balancer;
        // Direct: the balancer stands by, and the only replica is called past it.
        return opts.direct === true ? { url: urls[0]!, close: () => balancer.close() } : balancer;
      },
      workers: 0,
      launch: spawnStackService,
      echo: opts.echo ?? false,
      graceMs: GRACE_MS,
    });
    // Its environment is the first worker's only: `addWorker` takes its own.
    if (opts.worker !== false) await stack.addWorker(opts.worker);
  } catch (err) {
    await stop(stack).catch(() => undefined);
    throw err;
  }
  const { history, scheduler, workers } = stack;
  return {
    historyUrl: history.url,
    historyInternalUrl: history.internalUrl!,
    schedulerUrl: scheduler.url,
    db,
    redisUrl,
    redisCluster: cluster,
    keyPrefix,
    history: history.replicas[0]!,
    scheduler: scheduler.replicas[0]!,
    histories: history.replicas,
    schedulers: scheduler.replicas,
    balancers: { history: balancers.history!, historyInternal: balancers.historyInternal!, scheduler: balancers.scheduler! },
    workers,
    addWorker: (env) => stack.addWorker(env),
    stop: () => stop(stack),
  };
}

/** The replica count asked for, else `TEST_STACK_REPLICAS`, else two. @throws Error when not a positive integer. */
function replicaCount(what: string, asked: number | undefined): number {
  const raw = process.env.TEST_STACK_REPLICAS;
  const count = asked ?? (raw === undefined || raw === "" ? DEFAULT_REPLICAS : Number(raw));
  if (!Number.isInteger(count) || count < 1) throw new Error(`${what}: a replica count must be a positive integer, got ${asked ?? raw}`);
  return count;
}
