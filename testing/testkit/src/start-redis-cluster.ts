import { startRedisServer, type RedisServer } from "@taskflow/devstack";
import { Cluster, Redis } from "ioredis";

/** Slots of a Redis Cluster: keys hash to 0..16383. */
const SLOTS = 16_384;
/** How long the nodes may take to agree that the cluster is up, in ms. */
const FORM_TIMEOUT_MS = 20_000;
const POLL_MS = 50;

/** A Redis Cluster of a test's own: masters only, on loopback. */
export interface RedisCluster {
  /** `127.0.0.1:<port>` of every master, in slot order (the first serves slot 0). */
  nodes: string[];
  /** `redis://127.0.0.1:<port>` of every master, in the same order. */
  urls: string[];
  /** The nodes as a scheduler's REDIS_CLUSTER_NODES, comma-separated. */
  nodesSetting: string;
  /** A new ioredis Cluster client on it, connected; the caller quits it. */
  connect(): Promise<Cluster>;
  /** Runs `fn` on a plain connection to every master (SCAN, FLUSHALL, INFO: commands one node answers for itself). */
  eachMaster<T>(fn: (node: Redis) => Promise<T>): Promise<T[]>;
  /** Stops every server and removes their folders. Safe to call again. */
  stop(): Promise<void>;
}

/**
 * Starts `masters` redis-servers (default 3) with `--cluster-enabled yes` on free loopback ports,
 * each in a temporary folder of its own with nothing persisted (devstack's scratch server), and
 * forms a cluster of them without replicas: each node gets its epoch and an equal range of slots
 * (`CLUSTER ADDSLOTSRANGE`), the first meets the others, and it resolves once every node reports
 * `cluster_state:ok` and knows every other. What `redis-cli --cluster create --cluster-replicas 0`
 * does, without its prompt or its waits.
 * @throws Error when a server does not start, or the cluster is not up within 20 s (after
 *   stopping every server).
 */
export async function startRedisCluster(opts: { masters?: number } = {}): Promise<RedisCluster> {
  const count = opts.masters ?? 3;
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.splice(0).map((s) => s.stop("SIGKILL")));
  };
  try {
    for (let i = 0; i < count; i += 1) {
      servers.push(await startRedisServer({ args: ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"] }));
    }
    const urls = servers.map((s) => s.url);
    await formCluster(urls);
    const nodes = urls.map((u) => new URL(u).host);
    return {
      nodes,
      urls,
      nodesSetting: nodes.join(","),
      connect: async () => {
        const cluster = new Cluster(nodes.map((n) => ({ host: "127.0.0.1", port: Number(n.split(":")[1]) })), { lazyConnect: true });
        await cluster.connect().catch((err: unknown) => {
          cluster.disconnect();
          throw err;
        });
        return cluster;
      },
      eachMaster: (fn) => Promise.all(urls.map((u) => withNode(u, fn))),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function formCluster(urls: readonly string[]): Promise<void> {
  const per = Math.ceil(SLOTS / urls.length);
  await Promise.all(
    urls.map((url, i) =>
      withNode(url, async (node) => {
        await node.call("CLUSTER", "SET-CONFIG-EPOCH", String(i + 1));
        await node.call("CLUSTER", "ADDSLOTSRANGE", String(i * per), String(Math.min(SLOTS, (i + 1) * per) - 1));
      }),
    ),
  );
  await withNode(urls[0]!, async (first) => {
    for (const url of urls.slice(1)) {
      const { hostname, port } = new URL(url);
      await first.call("CLUSTER", "MEET", hostname, port);
    }
  });
  const deadline = Date.now() + FORM_TIMEOUT_MS;
  for (;;) {
    const infos = await Promise.all(urls.map((u) => withNode(u, (n) => n.call("CLUSTER", "INFO") as Promise<string>)));
    if (infos.every((info) => info.includes("cluster_state:ok") && info.includes(`cluster_known_nodes:${urls.length}`))) return;
    if (Date.now() > deadline) throw new Error(`the Redis Cluster did not form within ${FORM_TIMEOUT_MS} ms:\n${infos.join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function withNode<T>(url: string, fn: (node: Redis) => Promise<T>): Promise<T> {
  const node = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await node.connect();
    return await fn(node);
  } finally {
    node.disconnect();
  }
}
