import { once } from "node:events";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "@taskflow/devstack";
import { startTcpBalancer, type TcpBalancer } from "./start-tcp-balancer.js";

/** A TCP server that answers what it reads prefixed with its name, e.g. "a:ping". */
interface NamedServer {
  url: string;
  port: number;
  /** Stops listening and drops its open connections, as a killed process would. */
  kill(): Promise<void>;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startNamed(name: string, port = 0): Promise<NamedServer> {
  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    socket.on("data", (chunk) => socket.write(`${name}:${chunk.toString()}`));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const bound = (server.address() as net.AddressInfo).port;
  let killed = false;
  const kill = async (): Promise<void> => {
    if (killed) return;
    killed = true;
    const closed = new Promise((resolve) => server.close(resolve));
    for (const s of open) s.destroy();
    await closed;
  };
  cleanups.push(kill);
  return { url: `http://127.0.0.1:${bound}`, port: bound, kill };
}

async function balance(urls: string[]): Promise<TcpBalancer> {
  const balancer = await startTcpBalancer(urls);
  cleanups.push(() => balancer.close());
  return balancer;
}

/** Opens a connection to `url`, sends "ping", and resolves with the answer, or "closed". */
async function ask(url: string): Promise<string> {
  const { port, hostname } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  socket.on("error", () => socket.destroy());
  try {
    await once(socket, "connect");
    socket.write("ping");
    const ended = once(socket, "close").then(() => "closed");
    const answered = once(socket, "data").then(([chunk]) => (chunk as Buffer).toString());
    return await Promise.race([answered, ended]);
  } finally {
    socket.destroy();
  }
}

describe("startTcpBalancer", () => {
  it("hands each new connection to the next backend in turn, keeping the scheme", async () => {
    const [a, b] = [await startNamed("a"), await startNamed("b")];
    const balancer = await balance([a.url, b.url]);
    expect(balancer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await ask(balancer.url));
    expect(answers).toEqual(["a:ping", "b:ping", "a:ping", "b:ping"]);
    expect(balancer.handed).toEqual([2, 2]);
  });

  it("skips a backend that refuses, and drops the client only when none accepts", async () => {
    const a = await startNamed("a");
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const balancer = await balance([nobody, a.url]);
    expect([await ask(balancer.url), await ask(balancer.url), await ask(balancer.url)]).toEqual(["a:ping", "a:ping", "a:ping"]);
    expect(balancer.handed).toEqual([0, 3]);
    await a.kill();
    expect(await ask(balancer.url)).toBe("closed");
  });

  it("drops the open connections of a backend that dies; new ones reach it again once it is back on its port", async () => {
    const [a, b] = [await startNamed("a"), await startNamed("b")];
    const balancer = await balance([a.url, b.url]);
    const { port, hostname } = new URL(balancer.url);
    const open = net.connect(Number(port), hostname);
    open.on("error", () => open.destroy());
    await once(open, "connect");
    open.write("x");
    expect(((await once(open, "data"))[0] as Buffer).toString()).toBe("a:x");
    const dropped = once(open, "close");
    await a.kill();
    await dropped;
    // The round robin points at a next: it is skipped while down...
    expect([await ask(balancer.url), await ask(balancer.url)]).toEqual(["b:ping", "b:ping"]);
    // ...and serves again once restarted on the same port.
    await startNamed("a2", a.port);
    expect([await ask(balancer.url), await ask(balancer.url)].sort()).toEqual(["a2:ping", "b:ping"]);
  });

  it("sends new connections to replaced backends", async () => {
    const [a, b] = [await startNamed("a"), await startNamed("b")];
    const balancer = await balance([a.url]);
    balancer.setBackends([b.url]);
    expect(balancer.backends).toEqual([b.url]);
    expect(await ask(balancer.url)).toBe("b:ping");
    expect(() => balancer.setBackends([])).toThrow(/at least one/);
  });

  it("refuses a url without a port whose scheme it does not know", async () => {
    await expect(startTcpBalancer(["nats://127.0.0.1"])).rejects.toThrow(/no port/);
  });
});
