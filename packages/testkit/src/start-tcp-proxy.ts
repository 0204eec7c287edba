import * as net from "node:net";

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

/** Ports of the schemes tests proxy, for a url that leaves its port out. */
const DEFAULT_PORTS: Readonly<Record<string, number>> = { "http:": 80, "https:": 443, "redis:": 6379, "postgres:": 5432 };

/**
 * Listens on 127.0.0.1 on a free port and pipes every connection to `targetUrl`'s host and port,
 * byte for byte (any protocol: HTTP/2, Redis, PostgreSQL).
 *
 * @throws {Error} when `targetUrl` has no port and its scheme has no known default.
 */
export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const port = target.port === "" ? DEFAULT_PORTS[target.protocol] : Number(target.port);
  if (port === undefined) throw new Error(`no port in ${targetUrl}`);
  const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
  const sockets = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((client) => {
    if (cut) return client.destroy();
    const upstream = net.connect(port, host);
    // Either side ending ends both, so a cut looks to the client like a lost server.
    const drop = (): void => {
      for (const s of [client, upstream]) {
        s.destroy();
        sockets.delete(s);
      }
    };
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", drop).on("close", drop);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: proxyPort } = server.address() as net.AddressInfo;
  const dropAll = (): void => {
    for (const s of sockets) s.destroy();
  };
  return {
    url: `${target.protocol}//127.0.0.1:${proxyPort}`,
    partition: () => {
      cut = true;
      dropAll();
    },
    heal: () => {
      cut = false;
    },
    close: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      dropAll();
      await closed;
    },
  };
}
