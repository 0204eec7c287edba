import type { StackService } from "./stack-service.js";

/** Pause before a crashed process is started again, in ms (a pod's restart takes a moment too). */
const RESPAWN_DELAY_MS = 100;
/** Pause between attempts when a respawn itself fails, in ms. */
const RETRY_DELAY_MS = 500;

/** Worker processes kept running whatever kills them. */
export interface WorkerPool {
  /** The pool's processes (each restarted in place when it crashes). */
  readonly workers: readonly StackService[];
  /** How many times a process exited on its own and was started again. */
  readonly restarts: number;
  /** Stops supervising and stops every process. */
  stop(): Promise<void>;
}

/**
 * Starts `size` workers with `spawn` and starts each one again (same environment and port)
 * whenever it exits without being asked to, as Kubernetes restarts a crashed pod, counting the
 * restarts. Exits asked for with `stop()` or `restart()` on a worker are not crashes.
 * @throws Error when a first start fails.
 */
export async function superviseWorkers(size: number, spawn: () => Promise<StackService>): Promise<WorkerPool> {
  const workers: StackService[] = [];
  let restarts = 0;
  let stopping = false;
  const respawning = new Set<Promise<void>>();
  const respawn = async (worker: StackService): Promise<void> => {
    await pause(RESPAWN_DELAY_MS);
    while (!stopping) {
      try {
        await worker.start();
        return;
      } catch {
        // Started too soon (the scheduler restarting, the port not yet free): try again.
        await pause(RETRY_DELAY_MS);
      }
    }
  };
  for (let i = 0; i < size; i++) {
    const worker = await spawn();
    worker.onUnexpectedExit(() => {
      if (stopping) return;
      restarts += 1;
      const done = respawn(worker).finally(() => respawning.delete(done));
      respawning.add(done);
    });
    workers.push(worker);
  }
  return {
    workers,
    get restarts() {
      return restarts;
    },
    stop: async () => {
      stopping = true;
      // A start under way would otherwise leave a process running past the stop.
      await Promise.all(respawning);
      await Promise.all(workers.map((w) => w.stop()));
    },
  };
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
