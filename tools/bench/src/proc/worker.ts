/**
 * A bench worker process: TaskFlow's worker SDK or a BullMQ `Worker`, each with one handler
 * that returns when it started. It loads, says "ready", starts consuming on "go" (saying when),
 * and stops on "stop".
 */
import { createWorker } from "@taskflow/worker-sdk";
import { Worker } from "bullmq";
import pino from "pino";
import { BENCH_JOB_TYPE, taskFromArgv, tell, type BenchResult, type WorkerCommand, type WorkerTask } from "./protocol.js";
import { redisConnection } from "./redis-connection.js";

const handler = (): Promise<BenchResult> => Promise.resolve({ s: Date.now() });

function build(task: WorkerTask): { go(): Promise<void>; stop(): Promise<void> } {
  const { target, queue, concurrency } = task;
  if (target.system === "taskflow") {
    const worker = createWorker({
      scheduler: target.schedulerUrl,
      queues: [queue],
      concurrency,
      handlers: { [BENCH_JOB_TYPE]: handler },
      logger: pino({ level: "warn" }),
    });
    return { go: () => worker.start(), stop: () => worker.stop() };
  }
  const worker = new Worker(queue, handler, {
    connection: redisConnection(target.redisUrl),
    prefix: target.prefix,
    concurrency,
    autorun: false,
  });
  return {
    go: async () => {
      await worker.waitUntilReady();
      void worker.run();
    },
    stop: () => worker.close(),
  };
}

function main(): void {
  const worker = build(taskFromArgv<WorkerTask>());
  process.on("message", (cmd: WorkerCommand) => {
    if (cmd.kind === "go") {
      const atMs = Date.now();
      worker.go().then(
        () => tell({ kind: "started", atMs }),
        (err: unknown) => tell({ kind: "failed", error: String(err) }),
      );
    } else {
      void worker.stop().finally(() => process.disconnect());
    }
  });
  tell({ kind: "ready" });
}

main();
