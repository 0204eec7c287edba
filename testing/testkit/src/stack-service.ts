import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { spawnService, type LaunchOptions, type RunningService } from "@taskflow/devstack";

/** Lines of a service's output kept for {@link StackService.waitForOutput}. */
const KEPT_LINES = 2_000;

/**
 * How to start one service process of a test stack: devstack's launch options (name, entry,
 * whole environment, echo, grace), and `portVar`, set to 0 at first start.
 */
export type StackServiceOptions = LaunchOptions;

/**
 * A service process a fault test may kill, stop, pause and start again. It keeps its url:
 * every start after the first binds the port the first one got, so clients and the other
 * services reconnect to the same address, as they would to a restarted pod behind a Service.
 */
export interface StackService extends RunningService {
  /** Pid of the current process. */
  readonly pid: number;
  /** Whether the current process has exited. */
  readonly exited: boolean;
  /** Sends `signal` (default SIGTERM; SIGKILL after the grace) and resolves once it exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts the service again after it exited, on the same port. `env` entries are laid over the
   * environment of the last start (an `undefined` value removes a variable) and kept for later
   * starts. @throws Error when it does not log "listening" (e.g. the port was taken meanwhile).
   */
  start(env?: NodeJS.ProcessEnv): Promise<void>;
  /** Stops the process with `signal` (default SIGKILL), then starts it again; see start(). */
  restart(opts?: { signal?: NodeJS.Signals; env?: NodeJS.ProcessEnv }): Promise<void>;
  /** Freezes the process (SIGSTOP): it holds its sockets and leases but does nothing. */
  pause(): void;
  /** Lets a paused process run again (SIGCONT). */
  resume(): void;
  /**
   * Resolves with the first line of output (stdout or stderr) that `match` accepts, among the
   * lines the current process printed after it logged "listening" (the last 2,000 kept) and
   * those it prints next. @throws Error after `timeoutMs` (default 10 000).
   */
  waitForOutput(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Calls `listener` whenever the process exits without stop() or restart() asking it to. */
  onUnexpectedExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
}

/** Spawns a service and returns its restartable handle. @throws Error when it does not start. */
export async function spawnStackService(opts: StackServiceOptions): Promise<StackService> {
  const handle = new ServiceHandle(opts);
  // History's internal listener takes a free port as well.
  await handle.start({ [opts.portVar]: "0", ...(opts.portVar === "HISTORY_PORT" ? { HISTORY_INTERNAL_PORT: "0" } : {}) });
  return handle;
}

class ServiceHandle implements StackService {
  private current: RunningService | undefined;
  private env: NodeJS.ProcessEnv;
  private lines: string[] = [];
  private readonly lineListeners = new Set<(line: string) => void>();
  private readonly exitListeners: ((code: number | null, signal: NodeJS.Signals | null) => void)[] = [];
  private expectingExit = false;
  private paused = false;

  constructor(private readonly opts: StackServiceOptions) {
    this.env = { ...opts.env };
  }

  get name(): string {
    return this.opts.name;
  }

  get url(): string {
    return this.running().url;
  }

  get internalUrl(): string | undefined {
    return this.running().internalUrl;
  }

  get child(): ChildProcess {
    return this.running().child;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async start(env: NodeJS.ProcessEnv = {}): Promise<void> {
    if (this.current !== undefined && !this.exited) throw new Error(`${this.name} is still running`);
    this.env = { ...this.env, ...env };
    for (const [key, value] of Object.entries(this.env)) if (value === undefined) delete this.env[key];
    if (this.current !== undefined) {
      this.env[this.opts.portVar] = new URL(this.current.url).port;
      // History's internal listener keeps its port too: the scheduler's HISTORY_URL names it.
      if (this.current.internalUrl !== undefined) this.env.HISTORY_INTERNAL_PORT = new URL(this.current.internalUrl).port;
    }
    const service = await spawnService({ ...this.opts, env: this.env });
    this.current = service;
    this.expectingExit = false;
    this.paused = false;
    this.lines = [];
    this.capture(service.child);
    service.child.once("exit", (code, signal) => {
      if (this.current !== service || this.expectingExit) return;
      for (const listener of this.exitListeners) listener(code, signal);
    });
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (this.current === undefined) return;
    this.expectingExit = true;
    // A frozen process would hold the signal until the grace ran out.
    if (this.paused && signal !== "SIGKILL") this.resume();
    await this.current.stop(signal);
  }

  async restart(opts: { signal?: NodeJS.Signals; env?: NodeJS.ProcessEnv } = {}): Promise<void> {
    await this.stop(opts.signal ?? "SIGKILL");
    await this.start(opts.env);
  }

  pause(): void {
    this.child.kill("SIGSTOP");
    this.paused = true;
  }

  resume(): void {
    this.child.kill("SIGCONT");
    this.paused = false;
  }

  waitForOutput(match: (line: string) => boolean, timeoutMs = 10_000): Promise<string> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const listener = (line: string): void => {
        if (!match(line)) return;
        clearTimeout(timer);
        this.lineListeners.delete(listener);
        resolve(line);
      };
      const timer = setTimeout(() => {
        this.lineListeners.delete(listener);
        reject(new Error(`${this.name} printed no matching line within ${timeoutMs} ms`));
      }, timeoutMs);
      this.lineListeners.add(listener);
    });
  }

  onUnexpectedExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    this.exitListeners.push(listener);
  }

  private running(): RunningService {
    if (this.current === undefined) throw new Error(`${this.opts.name} was never started`);
    return this.current;
  }

  /** Keeps the output of this process (a second reader beside spawnService's own). */
  private capture(child: ChildProcess): void {
    const kept = this.lines;
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
        kept.push(line);
        if (kept.length > KEPT_LINES) kept.shift();
        if (kept === this.lines) for (const listener of [...this.lineListeners]) listener(line);
      });
    }
  }
}

/**
 * Stops every one of `services` at once with `signal` (default SIGTERM), e.g. a whole group of
 * replicas for an outage of the service, and resolves once all have exited.
 */
export async function stopAll(services: readonly StackService[], signal?: NodeJS.Signals): Promise<void> {
  await Promise.all(services.map((s) => s.stop(signal)));
}

/**
 * Starts again, at once and each on its port, every one of `services` that has exited. `env` as
 * in StackService.start. @throws Error when one does not start (the others are left running).
 */
export async function startAll(services: readonly StackService[], env?: NodeJS.ProcessEnv): Promise<void> {
  await Promise.all(services.filter((s) => s.exited).map((s) => s.start(env)));
}
