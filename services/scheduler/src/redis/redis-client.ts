import { Cluster, Redis } from "ioredis";
import type { Logger } from "pino";

/** A connection to the queues: one Redis, or a Redis Cluster (every command routed by its key's slot). */
export type RedisClient = Redis | Cluster;

/** Where the queues live: one Redis by url, or a Redis Cluster by its seed nodes. */
export type RedisTarget = { url: string } | { clusterNodes: readonly ClusterNode[] };

/** A seed node of a Redis Cluster, with the credentials and TLS its url gave. */
export interface ClusterNode {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls: boolean;
}

/** How a connection behaves; the same for one Redis and a cluster. */
export interface ConnectOptions {
  enableOfflineQueue?: boolean;
  enableAutoPipelining?: boolean;
  /** Longest wait for one command, in ms. */
  commandTimeout?: number;
}

const DEFAULT_PORT = 6379;

/**
 * Parses a seed node as an operator writes it: `host:port`, `host` (port 6379), or
 * `redis://[user:password@]host:port` (`rediss://` for TLS).
 * @returns the node, or a problem (without the value, which may hold a password).
 */
export function parseClusterNode(text: string): ClusterNode | string {
  const withScheme = text.includes("://") ? text : `redis://${text}`;
  if (!URL.canParse(withScheme)) return "each node must be host:port or a redis:// url";
  const url = new URL(withScheme);
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") return "each node url must be redis:// or rediss://";
  if (url.hostname === "") return "each node must name a host";
  if (url.pathname !== "" && url.pathname !== "/" && url.pathname !== "/0") return "a cluster has database 0 only";
  return {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port === "" ? DEFAULT_PORT : Number(url.port),
    username: url.username === "" ? undefined : decodeURIComponent(url.username),
    password: url.password === "" ? undefined : decodeURIComponent(url.password),
    tls: url.protocol === "rediss:",
  };
}

/**
 * Connects to `target`: `Redis` for one server, ioredis' `Cluster` for a cluster (it learns
 * the other nodes and the slots from the seeds, follows MOVED and ASK, and sends each script
 * call to the master of its keys' slot). Every connection the scheduler makes goes through
 * here, so the choice is made once. Errors are logged at warn, not thrown.
 * @throws when the first connection fails (nothing is left open).
 */
export async function connectRedis(target: RedisTarget, logger: Logger, options: ConnectOptions): Promise<RedisClient> {
  const { enableOfflineQueue, enableAutoPipelining, commandTimeout } = options;
  let client: RedisClient;
  if ("url" in target) {
    client = new Redis(target.url, { lazyConnect: true, maxRetriesPerRequest: 1, ...options });
  } else {
    const [first] = target.clusterNodes;
    client = new Cluster(
      target.clusterNodes.map(({ host, port }) => ({ host, port })),
      {
        lazyConnect: true,
        enableOfflineQueue,
        enableAutoPipelining,
        redisOptions: {
          maxRetriesPerRequest: 1,
          commandTimeout,
          username: first?.username,
          password: first?.password,
          tls: first?.tls === true ? {} : undefined,
        },
      },
    );
  }
  client.on("error", (err: Error) => logger.warn({ err }, "redis connection error"));
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw err;
  }
  return client;
}

/** Quits politely when connected; a connection that is down is dropped, or QUIT would wait for it. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status !== "ready") {
    client.disconnect();
    return;
  }
  await client.quit().catch(() => client.disconnect());
}

/** The servers holding the data: the cluster's masters, or the one Redis. */
export function mastersOf(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes("master") : [client];
}
