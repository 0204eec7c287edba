import { Code, ConnectError } from "@connectrpc/connect";
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
  /** The verified identity that registered the worker id; absent with authentication off. */
  identity?: string;
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

  /**
   * Saves `reg`. A worker id belongs to the identity that registered it while its registration
   * lasts: another identity registering the same id is refused.
   * @throws permission_denied when the id is registered to another identity.
   */
  async save(reg: WorkerRegistration): Promise<void> {
    const text = JSON.stringify(reg);
    const set = await this.call(() => this.redis.set(this.key(reg.id), text, "EX", REGISTRATION_TTL_S, "NX"));
    if (set === "OK") return;
    checkOwner(await this.read(reg.id), reg.id, reg.identity);
    await this.call(() => this.redis.set(this.key(reg.id), text, "EX", REGISTRATION_TTL_S));
  }

  /**
   * The registration of `id`, refreshing its expiry; undefined when unknown.
   * @throws permission_denied when `identity` (the caller's) is not the one that registered it.
   */
  async touch(id: string, identity?: string): Promise<WorkerRegistration | undefined> {
    const text = await this.call(() => this.redis.getex(this.key(id), "EX", REGISTRATION_TTL_S));
    const reg = text === null ? undefined : (JSON.parse(text) as WorkerRegistration);
    checkOwner(reg, id, identity);
    return reg;
  }

  /**
   * Removes the registration of `id`; resolves to what it was.
   * @throws permission_denied when `identity` (the caller's) is not the one that registered it.
   */
  async forget(id: string, identity?: string): Promise<WorkerRegistration | undefined> {
    checkOwner(await this.read(id), id, identity);
    const text = await this.call(() => this.redis.getdel(this.key(id)));
    return text === null ? undefined : (JSON.parse(text) as WorkerRegistration);
  }

  private async read(id: string): Promise<WorkerRegistration | undefined> {
    const text = await this.call(() => this.redis.get(this.key(id)));
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

/**
 * Refuses a caller other than the identity a worker id was registered by. Without authentication
 * (no identity on either side) any caller may use any id, as before identities existed.
 */
function checkOwner(reg: WorkerRegistration | undefined, id: string, identity: string | undefined): void {
  const owner = reg?.identity ?? "";
  if (owner === "" || identity === undefined || identity === "" || owner === identity) return;
  throw new ConnectError(`worker id ${id} is registered to another identity`, Code.PermissionDenied);
}
