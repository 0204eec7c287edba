import { startTcpBalancer } from "./start-tcp-balancer.js";

/** A TCP proxy in front of one server whose link a test can cut, to see how a client copes with a partition. */
export interface TcpProxy {
  /** The target's url with the proxy's host and port, e.g. `redis://127.0.0.1:40123`. */
  url: string;
  /** Drops every open connection and closes new ones as soon as they are accepted. */
  partition(): void;
  /** Lets new connections through again (those dropped stay dropped). */
  heal(): void;
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 on a free port and pipes every connection to `targetUrl`'s host and port,
 * byte for byte (any protocol: HTTP/2, Redis, PostgreSQL): a balancer with one backend.
 *
 * @throws {Error} when `targetUrl` has no port and its scheme has no known default.
 */
export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const balancer = await startTcpBalancer([targetUrl]);
  return {
    url: balancer.url,
    partition: () => balancer.partition(),
    heal: () => balancer.heal(),
    close: () => balancer.close(),
  };
}
