import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { EmptyScheduler, Producer, WorkerProcess, type ChildOptions } from "./children.js";
import { cpuSpent, processCpuMs, sampleCpu } from "./cpu.js";
import { summarize } from "./percentiles.js";
import { WARM_UP_JOBS, type ProducerTask } from "./proc/protocol.js";
import type { SystemUnderTest } from "./systems.js";

/** One way of loading a system; every kind runs at a worker concurrency. */
export type Phase =
  /** Submit `jobs` in batches of 1,000 with no worker running (submit), then drain them (drain). */
  | { kind: "drain"; concurrency: number }
  /** Producer and worker together: `jobs` in batches of 500, submitted while the worker runs. */
  | { kind: "e2e"; concurrency: number }
  /** Single-job submits at `rate` per second, open loop: answer, start and completion latency. */
  | { kind: "latency"; concurrency: number; rate: number }
  /** Single-job submits at `rate` per second, each due 1 to 2 s later: how late each starts. */
  | { kind: "delayed"; concurrency: number; rate: number }
  /**
   * The latency phase's single submits against a scheduler stand-in that does nothing (TaskFlow
   * only): the answer time and CPU that Connect over HTTP/2 alone costs on this machine.
   */
  | { kind: "floor"; rate: number };

export function phaseName(p: Phase): string {
  if (p.kind === "floor") return `floor.r${p.rate}`;
  return p.kind === "latency" || p.kind === "delayed" ? `${p.kind}.r${p.rate}.c${p.concurrency}` : `${p.kind}.c${p.concurrency}`;
}

/** What a phase measured: figures by metric name, and CPU ms per 1,000 jobs by section and component. */
export interface PhaseOutcome {
  metrics: Record<string, number>;
  cpu: Record<string, Record<string, number>>;
}

export interface PhaseContext {
  /** Jobs of a throughput phase (drain, e2e). */
  jobs: number;
  /** How long an open-loop phase offers jobs, in s. */
  openSeconds: number;
  /** A queue name no other phase of the run uses. */
  queue: string;
  redis: Redis;
  postmasterPid: number | undefined;
  /** Node flags of the bench's producer and worker processes. */
  children?: { producer?: ChildOptions; worker?: ChildOptions };
}

/** Seconds of unmeasured load an open-loop phase runs first. */
const OPEN_LOOP_WARM_UP_S = 1;

const round1 = (n: number): number => Math.round(n * 10) / 10;

/** Runs one phase against one system on a fresh queue. */
export async function runPhase(sys: SystemUnderTest, phase: Phase, ctx: PhaseContext): Promise<PhaseOutcome> {
  if (phase.kind === "floor") return sys.name === "taskflow" ? runFloor(phase, ctx) : { metrics: {}, cpu: {} };
  const worker = await WorkerProcess.start({ target: sys.target, queue: ctx.queue, concurrency: phase.concurrency }, ctx.children?.worker);
  const sample = () => sampleCpu({ processes: { ...sys.processes(), worker: worker.pid }, redis: ctx.redis, postmasterPid: ctx.postmasterPid });
  const produce = (task: Omit<ProducerTask, "target" | "queue">) =>
    new Producer({ target: sys.target, queue: ctx.queue, ...task }, ctx.children?.producer).result();
  const perThousand = (spent: Record<string, number>, producerMs: number, jobs: number) =>
    Object.fromEntries(Object.entries({ ...spent, producer: producerMs }).map(([k, ms]) => [k, round1((ms * 1000) / jobs)]));
  const name = phaseName(phase);
  try {
    if (phase.kind === "drain") {
      const c0 = await sample();
      const submitted = await produce({ mode: "batches", jobs: ctx.jobs, batch: 1_000, rate: 0 });
      const c1 = await sample();
      const startedMs = await worker.go();
      const lastMs = await untilCompleted(sys, ctx.queue, ctx.jobs + WARM_UP_JOBS);
      const c2 = await sample();
      const calls = summarize(submitted.callsMs);
      return {
        metrics: {
          "submit.jobs_per_s": round1((ctx.jobs * 1000) / (submitted.endedMs - submitted.startedMs)),
          "submit.batch_call_p50_ms": calls.p50,
          [`${name}.jobs_per_s`]: round1(((ctx.jobs + WARM_UP_JOBS) * 1000) / (lastMs - startedMs)),
        },
        cpu: {
          submit: perThousand(cpuSpent(c0, c1), submitted.cpuMs, ctx.jobs),
          [name]: perThousand(cpuSpent(c1, c2), 0, ctx.jobs),
        },
      };
    }
    await worker.go();
    if (phase.kind === "e2e") {
      const c0 = await sample();
      const submitted = await produce({ mode: "batches", jobs: ctx.jobs, batch: 500, rate: 0 });
      const lastMs = await untilCompleted(sys, ctx.queue, ctx.jobs + WARM_UP_JOBS);
      const c1 = await sample();
      return {
        metrics: { [`${name}.jobs_per_s`]: round1((ctx.jobs * 1000) / (lastMs - submitted.startedMs)) },
        cpu: { [name]: perThousand(cpuSpent(c0, c1), submitted.cpuMs, ctx.jobs) },
      };
    }
    const jobs = phase.rate * ctx.openSeconds;
    const delayMs = phase.kind === "delayed" ? { min: 1_000, max: 2_000 } : undefined;
    // Services in use are warm: a second of the same load first, unmeasured, and its jobs done.
    const warmUp = Math.round(phase.rate * OPEN_LOOP_WARM_UP_S);
    const producer = new Producer({ target: sys.target, queue: ctx.queue, mode: "open", jobs, batch: 1, rate: phase.rate, delayMs, warmUp }, ctx.children?.producer);
    const warmDone = warmUp - (await producer.warm()) + WARM_UP_JOBS;
    await untilCompleted(sys, ctx.queue, warmDone);
    const c0 = await sample();
    producer.go();
    const submitted = await producer.result();
    await untilCompleted(sys, ctx.queue, warmDone + jobs - submitted.refused);
    const c1 = await sample();
    const times = (await sys.jobTimes(ctx.queue)).filter((j) => j.t >= submitted.startedMs);
    const cpu = { [name]: perThousand(cpuSpent(c0, c1), submitted.cpuMs, jobs) };
    if (phase.kind === "delayed") {
      const late = summarize(times.filter((j) => j.due !== undefined).map((j) => j.s - j.due!));
      return { metrics: { ...percentileMetrics(`${name}.late`, late), [`${name}.refused`]: submitted.refused }, cpu };
    }
    return {
      metrics: {
        [`${name}.refused`]: submitted.refused,
        ...percentileMetrics(`${name}.answer`, summarize(submitted.callsMs)),
        ...percentileMetrics(`${name}.start`, summarize(times.map((j) => j.s - j.t))),
        ...percentileMetrics(`${name}.completed`, summarize(times.map((j) => j.done - j.t))),
      },
      cpu,
    };
  } finally {
    await worker.stop();
  }
}

/** The floor phase: an open loop of single submits, after the same warm-up, against an empty scheduler. */
async function runFloor(phase: Extract<Phase, { kind: "floor" }>, ctx: PhaseContext): Promise<PhaseOutcome> {
  const server = await EmptyScheduler.start();
  try {
    const jobs = phase.rate * ctx.openSeconds;
    const target = { system: "taskflow" as const, schedulerUrl: server.url, historyUrl: server.url };
    const producer = new Producer({ target, queue: ctx.queue, mode: "open", jobs, batch: 1, rate: phase.rate, warmUp: Math.round(phase.rate * OPEN_LOOP_WARM_UP_S) }, ctx.children?.producer);
    await producer.warm();
    const c0 = processCpuMs(server.pid)?.own ?? 0;
    producer.go();
    const submitted = await producer.result();
    const serverMs = (processCpuMs(server.pid)?.own ?? 0) - c0;
    const name = phaseName(phase);
    return {
      metrics: { [`${name}.refused`]: submitted.refused, ...percentileMetrics(`${name}.answer`, summarize(submitted.callsMs)) },
      cpu: { [name]: { producer: round1((submitted.cpuMs * 1000) / jobs), scheduler: round1((serverMs * 1000) / jobs) } },
    };
  } finally {
    await server.stop();
  }
}

function percentileMetrics(prefix: string, s: { p50: number; p95: number; p99: number }): Record<string, number> {
  return { [`${prefix}_p50_ms`]: round1(s.p50), [`${prefix}_p95_ms`]: round1(s.p95), [`${prefix}_p99_ms`]: round1(s.p99) };
}

/**
 * Waits until `expected` jobs of `queue` completed and returns when the last did. Fails when
 * no job completes for 60 s.
 */
async function untilCompleted(sys: SystemUnderTest, queue: string, expected: number): Promise<number> {
  let seen = -1;
  let progressAt = Date.now();
  for (;;) {
    const done = await sys.completed(queue);
    if (done >= expected) return sys.lastCompletedMs(queue);
    if (done !== seen) [seen, progressAt] = [done, Date.now()];
    if (Date.now() - progressAt > 60_000) throw new Error(`${sys.name}: ${done} of ${expected} jobs of ${queue} completed, none for 60 s`);
    await sleep(50);
  }
}
