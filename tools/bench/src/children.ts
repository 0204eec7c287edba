import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import type { ChildMessage, ProducerResult, ProducerTask, WorkerCommand, WorkerTask } from "./proc/protocol.js";

/** Extra node flags of the bench's children (e.g. `--cpu-prof` from bench:profile). */
export interface ChildOptions {
  execArgv?: string[];
}

/** A child process of the bench, with its messages as promises. */
class Child {
  private readonly messages: ChildMessage[] = [];
  private readonly waiting: ((m: ChildMessage) => void)[] = [];
  private readonly exited: Promise<void>;

  constructor(readonly proc: ChildProcess) {
    proc.on("message", (m: ChildMessage) => {
      const w = this.waiting.shift();
      if (w) w(m);
      else this.messages.push(m);
    });
    this.exited = once(proc, "exit").then(() => undefined);
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** The next message, which must be of `kind`. @throws Error on "failed", another kind, or exit. */
  async next<K extends ChildMessage["kind"]>(kind: K): Promise<Extract<ChildMessage, { kind: K }>> {
    const m =
      this.messages.shift() ??
      (await Promise.race([
        new Promise<ChildMessage>((resolve) => this.waiting.push(resolve)),
        this.exited.then((): ChildMessage => ({ kind: "failed", error: `exited with ${this.proc.exitCode ?? this.proc.signalCode}` })),
      ]));
    if (m.kind !== kind) throw new Error(m.kind === "failed" ? m.error : `expected ${kind}, got ${m.kind}`);
    return m as Extract<ChildMessage, { kind: K }>;
  }

  /** Resolves when the process has exited (killing it after `graceMs`). */
  async ended(graceMs = 30_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

const entry = (name: string): string => new URL(`./proc/${name}.js`, import.meta.url).pathname;

function spawnChild(name: string, task: unknown, opts: ChildOptions): Child {
  return new Child(fork(entry(name), [JSON.stringify(task)], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: opts.execArgv ?? [] }));
}

/** A producer process: runs its task at once. */
export class Producer {
  private readonly child: Child;

  constructor(task: ProducerTask, opts: ChildOptions = {}) {
    this.child = spawnChild("producer", task, opts);
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Resolves once a producer with a warm-up has run it, with the warm-up's refused submits. */
  async warm(): Promise<number> {
    return (await this.child.next("warm")).refused;
  }

  /** Starts the measured run after the warm-up. */
  go(): void {
    const go: WorkerCommand = { kind: "go" };
    this.child.proc.send(go);
  }

  async result(): Promise<ProducerResult> {
    const { result } = await this.child.next("done");
    await this.child.ended();
    return result;
  }
}

/** A worker process: loaded at once, consuming from go() on. */
export class WorkerProcess {
  private readonly child: Child;

  private constructor(task: WorkerTask, opts: ChildOptions) {
    this.child = spawnChild("worker", task, opts);
  }

  static async start(task: WorkerTask, opts: ChildOptions = {}): Promise<WorkerProcess> {
    const w = new WorkerProcess(task, opts);
    await w.child.next("ready");
    return w;
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Starts consuming; resolves with Date.now() of the start, once the worker runs. */
  async go(): Promise<number> {
    this.send({ kind: "go" });
    return (await this.child.next("started")).atMs;
  }

  async stop(): Promise<void> {
    this.send({ kind: "stop" });
    await this.child.ended();
  }

  private send(cmd: WorkerCommand): void {
    this.child.proc.send(cmd);
  }
}

/** The empty scheduler of the floor phase (see proc/empty-scheduler.ts). */
export class EmptyScheduler {
  private constructor(
    private readonly child: Child,
    readonly url: string,
  ) {}

  static async start(): Promise<EmptyScheduler> {
    const child = spawnChild("empty-scheduler", {}, {});
    const { port } = await child.next("listening");
    return new EmptyScheduler(child, `http://127.0.0.1:${port}`);
  }

  get pid(): number {
    return this.child.pid;
  }

  async stop(): Promise<void> {
    this.child.proc.send({ kind: "stop" });
    await this.child.ended();
  }
}
