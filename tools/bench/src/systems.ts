import { randomBytes } from "node:crypto";
import { deleteKeysWithPrefix, spawnTestStack, testRedisUrl, type TestStack } from "@taskflow/testkit";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pg from "pg";
import type { Target } from "./proc/protocol.js";
import { redisConnection } from "./proc/redis-connection.js";

/** When one job was submitted, due, started and completed, in ms since the epoch. */
export interface JobTimes {
  t: number;
  due?: number;
  s: number;
  done: number;
}

/** A job system under test, as the bench drives and reads it. */
export interface SystemUnderTest {
  readonly name: "taskflow" | "bullmq";
  readonly target: Target;
  /** Its own long-running processes, by component, whose CPU counts. */
  processes(): Record<string, number>;
  /** Jobs of `queue` completed (for TaskFlow: recorded in history). */
  completed(queue: string): Promise<number>;
  /** When the last job of `queue` completed, ms since the epoch. */
  lastCompletedMs(queue: string): Promise<number>;
  jobTimes(queue: string): Promise<JobTimes[]>;
  close(): Promise<void>;
}

/** Flags of `node` per TaskFlow service (e.g. `--cpu-prof` for a CPU profile). */
export interface TaskFlowNodeArgs {
  scheduler?: string[];
  history?: string[];
}

/**
 * TaskFlow as deployed: one history and one scheduler process on a database and key prefix of
 * their own, called directly; workers are the bench's. "Completed" means history recorded it:
 * its clock is the `recorded_at` of the job's COMPLETED event.
 */
export async function startTaskFlow(nodeArgs: TaskFlowNodeArgs = {}): Promise<SystemUnderTest & { stack: TestStack; db: pg.Client }> {
  const stack = await spawnTestStack({ worker: false, schedulers: 1, histories: 1, direct: true, nodeArgs });
  const db = new pg.Client({ connectionString: stack.db.url });
  await db.connect();
  const one = async <T>(sql: string, queue: string): Promise<T> => (await db.query<{ v: T }>(sql, [queue])).rows[0]!.v;
  return {
    name: "taskflow",
    stack,
    db,
    target: { system: "taskflow", schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl },
    processes: () => ({ scheduler: stack.scheduler.pid, history: stack.history.pid }),
    completed: (queue) => one<number>("SELECT count(*)::int AS v FROM jobs WHERE queue = $1 AND status = 'completed'", queue),
    lastCompletedMs: (queue) =>
      one<number>(
        `SELECT extract(epoch FROM max(e.recorded_at)) * 1000 AS v
         FROM jobs j JOIN job_events e ON e.job_id = j.id AND e.type = 'completed' WHERE j.queue = $1`,
        queue,
      ),
    jobTimes: async (queue) =>
      (
        await db.query<JobTimes>(
          `SELECT (j.payload->>'t')::float8 AS t, (j.payload->>'due')::float8 AS due, (j.result->>'s')::float8 AS s,
                  extract(epoch FROM e.recorded_at) * 1000 AS done
           FROM jobs j JOIN job_events e ON e.job_id = j.id AND e.type = 'completed' WHERE j.queue = $1`,
          [queue],
        )
      ).rows.map((r) => ({ t: r.t, s: r.s, done: r.done, ...(r.due === null ? {} : { due: r.due }) })),
    close: async () => {
      await db.end();
      await stack.stop();
    },
  };
}

/**
 * BullMQ on the same Redis, under a key prefix of its own. Its clock of completion is the
 * job's `finishedOn`, which the worker writes when it moves the job to completed.
 */
export function startBullMq(): SystemUnderTest {
  const redisUrl = testRedisUrl();
  const prefix = `bench-${randomBytes(4).toString("hex")}`;
  const queues = new Map<string, Queue>();
  const queueOf = (name: string): Queue => {
    let q = queues.get(name);
    if (q === undefined) {
      q = new Queue(name, { connection: redisConnection(redisUrl), prefix });
      queues.set(name, q);
    }
    return q;
  };
  const redis = new Redis(redisUrl);
  const completedKey = (queue: string) => `${prefix}:${queue}:completed`;
  return {
    name: "bullmq",
    target: { system: "bullmq", redisUrl, prefix },
    processes: () => ({}),
    completed: async (queue) => redis.zcard(completedKey(queue)),
    lastCompletedMs: async (queue) => Number((await redis.zrange(completedKey(queue), "-1", "-1", "WITHSCORES"))[1]),
    jobTimes: async (queue) =>
      (await queueOf(queue).getJobs(["completed"], 0, -1)).map((job) => {
        const data = job.data as { t: number; due?: number };
        return { t: data.t, s: (job.returnvalue as { s: number }).s, done: job.finishedOn!, ...(data.due === undefined ? {} : { due: data.due }) };
      }),
    close: async () => {
      await Promise.all([...queues.values()].map((q) => q.close()));
      redis.disconnect();
      await deleteKeysWithPrefix(redisUrl, `${prefix}:`);
    },
  };
}
