import { once } from "node:events";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTcpProxy, type TcpProxy } from "./start-tcp-proxy.js";

/** A TCP server that echoes what it reads. */
async function startEchoServer(): Promise<{ url: string; server: net.Server }> {
  const server = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`, server };
}

/** Sends `text` and resolves with the echo, or with "closed" when the link ends first. */
async function roundTrip(socket: net.Socket, text: string): Promise<string> {
  socket.write(text);
  const ended = once(socket, "close").then(() => "closed");
  const echoed = once(socket, "data").then(([chunk]) => (chunk as Buffer).toString());
  return Promise.race([echoed, ended]);
}

/** A socket connected to `url`'s host and port. */
async function connectTo(url: string): Promise<net.Socket> {
  const { port, hostname } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  socket.on("error", () => socket.destroy());
  await once(socket, "connect");
  return socket;
}

describe("startTcpProxy", () => {
  let echo: { url: string; server: net.Server };
  let proxy: TcpProxy;
  beforeAll(async () => {
    echo = await startEchoServer();
    proxy = await startTcpProxy(echo.url);
  });
  afterAll(async () => {
    await proxy?.close();
    await new Promise((resolve) => echo?.server.close(resolve));
  });

  it("keeps the target's scheme and pipes bytes both ways", async () => {
    expect(proxy.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(proxy.url).not.toBe(echo.url);
    const socket = await connectTo(proxy.url);
    expect(await roundTrip(socket, "ping")).toBe("ping");
    socket.destroy();
  });

  it("drops open links on partition, refuses new ones until healed", async () => {
    const before = await connectTo(proxy.url);
    expect(await roundTrip(before, "a")).toBe("a");
    const dropped = once(before, "close");
    proxy.partition();
    await dropped;
    const during = await connectTo(proxy.url);
    expect(await roundTrip(during, "b")).toBe("closed");
    proxy.heal();
    const after = await connectTo(proxy.url);
    expect(await roundTrip(after, "c")).toBe("c");
    after.destroy();
  });

  it("stops listening on close", async () => {
    const other = await startTcpProxy(echo.url);
    const open = await connectTo(other.url);
    const dropped = once(open, "close");
    await other.close();
    await dropped;
    await expect(connectTo(other.url)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("refuses a url without a port whose scheme it does not know", async () => {
    await expect(startTcpProxy("nats://127.0.0.1")).rejects.toThrow(/no port/);
  });
});
