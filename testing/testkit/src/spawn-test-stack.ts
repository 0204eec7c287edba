import { randomBytes } from "node:crypto";
import { StackParts, type ReplicaGroup } from "./stack-parts.js";
import type { StackService } from "./stack-service.js";
import type { TcpBalancer } from "./start-tcp-balancer.js";
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
  if (opts.direct === true && schedulerCount + historyCount > 2) throw new Error("direct: one scheduler and one history only");
  const db = await createTestDatabase(opts.databaseAdminUrl);
  const keyPrefix = randomKeyPrefix();
  const redisUrl = opts.redisUrl ?? testRedisUrl();
  const parts = new StackParts(opts.echo ?? false);
  const entry = (group: ReplicaGroup): string => (opts.direct === true ? group.replicas[0]!.url : group.balancer.url);
  const stop = async (): Promise<void> => {
    const errors = await parts.stop();
    for (const r of await Promise.allSettled([db.drop(), deleteKeysWithPrefix(redisUrl, keyPrefix)])) {
      if (r.status === "rejected") errors.push(r.reason);
    }
    if (errors.length > 0) throw new AggregateError(errors, "the test stack did not stop cleanly");
  };
  try {
    const history = await parts.startGroup(historyCount, {
      service: "history",
      portVar: "HISTORY_PORT",
      env: { DATABASE_URL: db.url, PAGE_TOKEN_SECRET: randomBytes(24).toString("hex"), ...opts.history },
    });
    const scheduler = await parts.startGroup(schedulerCount, {
      service: "scheduler",
      portVar: "SCHEDULER_PORT",
      env: { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: keyPrefix, HISTORY_URL: entry(history), ...opts.scheduler },
    });
    const workers = parts.newGroup();
    const addWorker = async (env: NodeJS.ProcessEnv = {}): Promise<StackService> => {
      const workerEnv = { SCHEDULER_URL: entry(scheduler), ...env };
      const worker = await parts.spawn({ service: "worker", portVar: "WORKER_PORT", env: workerEnv, entry: opts.workerEntry });
      workers.push(worker);
      return worker;
    };
    if (opts.worker !== false) await addWorker(opts.worker);
    return {
      historyUrl: entry(history),
      schedulerUrl: entry(scheduler),
      db,
      redisUrl,
      keyPrefix,
      history: history.replicas[0]!,
      scheduler: scheduler.replicas[0]!,
      histories: history.replicas,
      schedulers: scheduler.replicas,
      balancers: { history: history.balancer, scheduler: scheduler.balancer },
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
