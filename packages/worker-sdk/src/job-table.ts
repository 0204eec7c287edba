import type { ActiveJob, LeaseRef } from "./start-job.js";

/**
 * The attempts a worker is running, bounded by its concurrency, by lease token: after a lost
 * lease the same job may run here twice, its old attempt not yet stopped.
 */
export class JobTable {
  private readonly jobs = new Map<string, ActiveJob>();
  private waiters: Array<() => void> = [];
  private readonly removalListeners = new Set<() => void>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.jobs.size;
  }

  freeSlots(): number {
    return Math.max(0, this.capacity - this.jobs.size);
  }

  add(job: ActiveJob): void {
    this.jobs.set(job.lease.leaseToken, job);
  }

  remove(leaseToken: string): void {
    if (!this.jobs.delete(leaseToken)) return;
    for (const listener of this.removalListeners) listener();
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Calls `listener` each time a job leaves the table (a slot frees); returns its removal. */
  onRemove(listener: () => void): () => void {
    this.removalListeners.add(listener);
    return () => this.removalListeners.delete(listener);
  }

  get(leaseToken: string): ActiveJob | undefined {
    return this.jobs.get(leaseToken);
  }

  all(): ActiveJob[] {
    return [...this.jobs.values()];
  }

  leases(): LeaseRef[] {
    return this.all().map((j) => j.lease);
  }

  /** Resolves once fewer than `capacity` jobs run, or when `signal` aborts. */
  async whenSlotFree(signal: AbortSignal): Promise<void> {
    while (this.jobs.size >= this.capacity && !signal.aborted) await this.nextRemoval(signal);
  }

  /** Resolves once no job runs, or when `signal` aborts. */
  async whenEmpty(signal: AbortSignal): Promise<void> {
    while (this.jobs.size > 0 && !signal.aborted) await this.nextRemoval(signal);
  }

  private nextRemoval(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      signal.addEventListener("abort", done, { once: true });
      this.waiters.push(done);
    });
  }
}
