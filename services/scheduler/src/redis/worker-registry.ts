import { fromRedisError } from "../errors.js";
import type { RedisClient } from "./redis-client.js";

/** What a worker announced when it registered. */
export interface WorkerRegistration {
  id: string;
  queues: string[];
  jobTypes: string[];
  concurrency: number;
  hostname: string;
  metadata: Record<string, string>;
  /** ms since the Unix epoch. */
  startedMs: number;
}

/** A registration outlives this long without a heartbeat, in s. */
export const REGISTRATION_TTL_S = 86_400;

/**
 * Worker registrations, kept in Redis so that any scheduler replica can send
 * history a worker's full record with each heartbeat (history replaces the
 * whole worker row on every upsert).
 */
export class WorkerRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  async save(reg: WorkerRegistration): Promise<void> {
    await this.call(() => this.redis.set(this.key(reg.id), JSON.stringify(reg), "EX", REGISTRATION_TTL_S));
  }

  /** The registration of `id`, refreshing its expiry; undefined when unknown. */
  async touch(id: string): Promise<WorkerRegistration | undefined> {
    const text = await this.call(() => this.redis.getex(this.key(id), "EX", REGISTRATION_TTL_S));
    return text === null ? undefined : (JSON.parse(text) as WorkerRegistration);
  }

  /** Removes the registration of `id`; resolves to what it was. */
  async forget(id: string): Promise<WorkerRegistration | undefined> {
    const text = await this.call(() => this.redis.getdel(this.key(id)));
    return text === null ? undefined : (JSON.parse(text) as WorkerRegistration);
  }

  private key(id: string): string {
    return `${this.keyPrefix}:worker:${id}`;
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw fromRedisError(err);
    }
  }
}
