import { randomBytes } from "node:crypto";
import type { RedisClient } from "./redis-client.js";
import type { Logger } from "pino";
import { dueChannel } from "./keys.js";

/** What a replica does with the news of the other replicas. */
export interface DueListener {
  /** Another replica put a job due at `dueMs` (Redis's clock, ms since the Unix epoch) into `queue`'s delayed set. */
  due(queue: string, dueMs: number): void;
  /** The subscription was lost and is back: news may have been missed meanwhile. */
  resubscribed(): void;
}

/**
 * Due times of delayed jobs, told across replicas over Redis pub/sub (one channel under the key
 * prefix, on the subscriber connection the wake channels use), so a job submitted or retried
 * through one replica is promoted on time by the others' timers, also when that replica is
 * gone. Pub/sub keeps nothing: a message missed while the subscriber reconnects is made up for
 * by {@link DueListener.resubscribed}, and by the periodic sweep.
 */
export class DueChannel {
  private readonly id = randomBytes(6).toString("base64url");
  private readonly channel: string;
  private onMessage: ((channel: string, message: string) => void) | undefined;
  private onReady: (() => void) | undefined;

  constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
    keyPrefix: string,
    private readonly logger: Logger,
  ) {
    this.channel = dueChannel(keyPrefix);
  }

  /** Subscribes; `listener` hears the other replicas' due times from now on. */
  async start(listener: DueListener): Promise<void> {
    this.onMessage = (channel, message) => {
      if (channel !== this.channel) return;
      const parsed = parseMessage(message);
      // This replica armed its own timer when it told the others.
      if (parsed !== undefined && parsed.from !== this.id) listener.due(parsed.queue, parsed.dueMs);
    };
    // ioredis subscribes again on its own after a reconnect, and then says "ready".
    this.onReady = () => listener.resubscribed();
    this.subscriber.on("message", this.onMessage);
    this.subscriber.on("ready", this.onReady);
    await this.subscriber.subscribe(this.channel);
  }

  /** Tells the other replicas that `queue` holds a job due at `dueMs`; a failure is logged, not thrown. */
  async publish(queue: string, dueMs: number): Promise<void> {
    try {
      await this.publisher.publish(this.channel, formatMessage(this.id, queue, dueMs));
    } catch (err) {
      // The others find the job at their next sweep at the latest.
      this.logger.warn({ err, queue }, "due time publish failed");
    }
  }

  async stop(): Promise<void> {
    if (this.onMessage !== undefined) this.subscriber.off("message", this.onMessage);
    if (this.onReady !== undefined) this.subscriber.off("ready", this.onReady);
    this.onMessage = undefined;
    this.onReady = undefined;
    await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
  }
}

/** `<from>|<due ms>|<queue>`: the queue last, so whatever characters it holds, it parses. */
function formatMessage(from: string, queue: string, dueMs: number): string {
  return `${from}|${Math.ceil(dueMs)}|${queue}`;
}

function parseMessage(message: string): { from: string; dueMs: number; queue: string } | undefined {
  const first = message.indexOf("|");
  const second = message.indexOf("|", first + 1);
  if (first < 0 || second < 0) return undefined;
  const dueMs = Number(message.slice(first + 1, second));
  if (!Number.isFinite(dueMs)) return undefined;
  return { from: message.slice(0, first), dueMs, queue: message.slice(second + 1) };
}
