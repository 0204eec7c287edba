import type { ConnectionOptions } from "bullmq";

/** BullMQ's connection options for a `redis://host:port/db` url. */
export function redisConnection(url: string): ConnectionOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    db: Number(u.pathname.slice(1) || 0),
    // A worker's blocking commands must wait as long as they need (BullMQ's requirement).
    maxRetriesPerRequest: null,
  };
}
