import * as net from "node:net";

/**
 * A TCP round-robin balancer in front of a group of replicas, as a Kubernetes Service is in
 * front of its pods: callers know one address, and each new connection goes to the next replica
 * that accepts it. HTTP/2 keeps a connection for many calls, so a client stays on one replica
 * until that replica goes away and it connects again.
 */
export interface TcpBalancer {
  /** The first backend's url with the balancer's host and port, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** The backends new connections go to, in round-robin order. */
  readonly backends: readonly string[];
  /** Connections handed to each backend so far, by position in {@link backends}. */
  readonly handed: readonly number[];
  /**
   * Replaces the backends (e.g. a replica restarted on another port). New connections go to
   * the new list; open ones stay where they are. @throws Error when a url has no usable port.
   */
  setBackends(urls: readonly string[]): void;
  /** Drops every open connection and closes new ones as soon as they are accepted. */
  partition(): void;
  /** Lets new connections through again (those dropped stay dropped). */
  heal(): void;
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

/** Ports of the schemes tests proxy, for a url that leaves its port out. */
const DEFAULT_PORTS: Readonly<Record<string, number>> = { "http:": 80, "https:": 443, "redis:": 6379, "postgres:": 5432 };
/** Longest wait for one backend to accept, in ms, before the next is tried. */
const CONNECT_TIMEOUT_MS = 2_000;

interface Backend {
  url: string;
  host: string;
  port: number;
}

/** @throws Error when `url` has no port and its scheme has no known default. */
function parseBackend(url: string): Backend {
  const target = new URL(url);
  const port = target.port === "" ? DEFAULT_PORTS[target.protocol] : Number(target.port);
  if (port === undefined) throw new Error(`no port in ${url}`);
  return { url, host: target.hostname.replace(/^\[(.*)\]$/, "$1"), port };
}

/**
 * Listens on 127.0.0.1 on a free port and pipes each connection, byte for byte (any protocol:
 * HTTP/2, Redis, PostgreSQL), to the next of `backendUrls` in turn. A backend that refuses (or
 * does not accept within 2 s) is skipped for the next one; the client's connection is dropped
 * only when none accepts, which its client sees as a lost server, as when a Service has no
 * ready pod. Either end closing closes the other, so a replica killed under a client looks to
 * that client like a lost server, and its next connection goes elsewhere.
 *
 * @throws {Error} when `backendUrls` is empty or a url has no port and its scheme no known default.
 */
export async function startTcpBalancer(backendUrls: readonly string[]): Promise<TcpBalancer> {
  let backends = checkedBackends(backendUrls);
  let handed = backends.map(() => 0);
  const sockets = new Set<net.Socket>();
  let cut = false;
  let next = 0;
  const server = net.createServer((client) => {
    if (cut) return client.destroy();
    sockets.add(client);
    const first = next++ % backends.length;
    const order = backends.map((_, i) => (first + i) % backends.length);
    connectFirst(client, backends, order, sockets, (index) => {
      handed[index] = (handed[index] ?? 0) + 1;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const dropAll = (): void => {
    for (const s of sockets) s.destroy();
  };
  return {
    url: `${new URL(backends[0]!.url).protocol}//127.0.0.1:${port}`,
    get backends() {
      return backends.map((b) => b.url);
    },
    get handed() {
      return [...handed];
    },
    setBackends: (urls) => {
      backends = checkedBackends(urls);
      handed = backends.map(() => 0);
    },
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

function checkedBackends(urls: readonly string[]): Backend[] {
  if (urls.length === 0) throw new Error("a balancer needs at least one backend");
  return urls.map(parseBackend);
}

/**
 * Connects `client` to the first backend of `order` that accepts, then pipes both ways. The
 * client's bytes wait in its socket (nothing reads it) until then.
 */
function connectFirst(
  client: net.Socket,
  backends: readonly Backend[],
  order: readonly number[],
  sockets: Set<net.Socket>,
  onHanded: (index: number) => void,
): void {
  let upstream: net.Socket | undefined;
  const drop = (): void => {
    for (const s of [client, upstream]) {
      if (s === undefined) continue;
      s.destroy();
      sockets.delete(s);
    }
  };
  client.on("error", drop).on("close", drop);
  const attempt = (i: number): void => {
    if (client.destroyed) return;
    const index = order[i];
    if (index === undefined) return drop();
    const backend = backends[index]!;
    const socket = net.connect({ host: backend.host, port: backend.port, timeout: CONNECT_TIMEOUT_MS });
    upstream = socket;
    sockets.add(socket);
    const tryNext = (): void => {
      socket.destroy();
      sockets.delete(socket);
      attempt(i + 1);
    };
    socket.once("error", tryNext).once("timeout", tryNext);
    socket.once("connect", () => {
      socket.off("error", tryNext).off("timeout", tryNext).setTimeout(0);
      if (client.destroyed) return drop();
      onHanded(index);
      socket.on("error", drop).on("close", drop);
      client.pipe(socket).pipe(client);
    });
  };
  attempt(0);
}
