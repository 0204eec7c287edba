/**
 * A bench producer process: submits a phase's jobs to TaskFlow (through the typed client) or
 * BullMQ (through `Queue.add`/`addBulk`), then reports when it started and ended and how long
 * each call took.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createTaskFlowClient } from "@taskflow/client";
import { Queue } from "bullmq";
import { BENCH_JOB_TYPE, benchPayload, taskFromArgv, tell, type BenchPayload, type ProducerResult, type ProducerTask } from "./protocol.js";
import { redisConnection } from "./redis-connection.js";

/** Submits one batch of payloads with runAt times (absolute, ms) where given. */
type Submit = (jobs: { payload: BenchPayload; dueMs?: number }[]) => Promise<void>;

async function connect(task: ProducerTask): Promise<{ submit: Submit; close(): Promise<void> }> {
  const { target, queue } = task;
  if (target.system === "taskflow") {
    const client = createTaskFlowClient({ schedulerUrl: target.schedulerUrl, historyUrl: target.historyUrl });
    const toInput = (j: { payload: BenchPayload; dueMs?: number }) => ({
      type: BENCH_JOB_TYPE,
      queue,
      payload: j.payload,
      ...(j.dueMs === undefined ? {} : { runAt: new Date(j.dueMs) }),
    });
    return {
      submit: async (jobs) => {
        if (jobs.length === 1) await client.submit(toInput(jobs[0]!));
        else await client.submitMany(jobs.map(toInput));
      },
      close: () => client.close(),
    };
  }
  const q = new Queue(queue, { connection: redisConnection(target.redisUrl), prefix: target.prefix });
  await q.waitUntilReady();
  const opts = (j: { dueMs?: number }) => (j.dueMs === undefined ? {} : { delay: Math.max(0, j.dueMs - Date.now()) });
  return {
    submit: async (jobs) => {
      if (jobs.length === 1) await q.add(BENCH_JOB_TYPE, jobs[0]!.payload, opts(jobs[0]!));
      else await q.addBulk(jobs.map((j) => ({ name: BENCH_JOB_TYPE, data: j.payload, opts: opts(j) })));
    },
    close: () => q.close(),
  };
}

/** One call after another, each of `batch` jobs. */
async function inBatches(task: ProducerTask, submit: Submit, callsMs: number[]): Promise<void> {
  for (let sent = 0; sent < task.jobs; sent += task.batch) {
    const size = Math.min(task.batch, task.jobs - sent);
    const now = Date.now();
    const jobs = Array.from({ length: size }, () => ({ payload: benchPayload(now) }));
    const t0 = performance.now();
    await submit(jobs);
    callsMs.push(performance.now() - t0);
  }
}

/**
 * An open loop: job i is submitted at i / rate seconds from the start, alone in its call,
 * whether or not earlier calls have answered, so a slow answer delays no later submit.
 */
async function openLoop(task: ProducerTask, submit: Submit, callsMs: number[], refused: { count: number }): Promise<void> {
  const start = performance.now();
  const pending: Promise<void>[] = [];
  const one = async (): Promise<void> => {
    const now = Date.now();
    const d = task.delayMs;
    const dueMs = d === undefined ? undefined : now + d.min + Math.random() * (d.max - d.min);
    const t0 = performance.now();
    try {
      await submit([{ payload: benchPayload(now, dueMs), dueMs }]);
      callsMs.push(performance.now() - t0);
    } catch {
      // An overloaded system may refuse a submit (its calls time out): counted, not fatal.
      refused.count += 1;
    }
  };
  for (let i = 0; i < task.jobs; ) {
    const elapsed = performance.now() - start;
    for (; i < task.jobs && (i * 1000) / task.rate <= elapsed; i++) pending.push(one());
    if (i < task.jobs) await sleep(Math.max(0, (i * 1000) / task.rate - (performance.now() - start)));
  }
  await Promise.all(pending);
}

async function main(): Promise<void> {
  const task = taskFromArgv<ProducerTask>();
  const conn = await connect(task);
  const callsMs: number[] = [];
  const refused = { count: 0 };
  // One job first, before the clock starts, so that connections are open and scripts loaded:
  // the phase's queue receives `jobs + 1` jobs (see WARM_UP_JOBS).
  await conn.submit([{ payload: benchPayload(Date.now()) }]);
  if (task.mode === "open" && (task.warmUp ?? 0) > 0) {
    const warm = { count: 0 };
    await openLoop({ ...task, jobs: task.warmUp! }, conn.submit, [], warm);
    const go = new Promise((resolve) => process.once("message", resolve));
    tell({ kind: "warm", refused: warm.count });
    await go;
  }
  const startedMs = Date.now();
  const cpuBefore = process.cpuUsage();
  await (task.mode === "batches" ? inBatches(task, conn.submit, callsMs) : openLoop(task, conn.submit, callsMs, refused));
  const cpu = process.cpuUsage(cpuBefore);
  const result: ProducerResult = { startedMs, endedMs: Date.now(), callsMs, refused: refused.count, cpuMs: (cpu.user + cpu.system) / 1000 };
  await conn.close();
  tell({ kind: "done", result });
}

main().catch((err: unknown) => {
  tell({ kind: "failed", error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exitCode = 1;
});
