import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { sniffProtocol } from "./sniff-protocol.js";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

/**
 * A listener that sniffs each connection and then reads the rest of it, and a client socket.
 * `firstRead` resolves when the server's first read arrived, so a test can split its writes
 * across reads without sleeping.
 */
async function pair(timeoutMs?: number) {
  let onResult!: (r: { protocol: string | undefined; bytes: Promise<string>; destroyed: boolean }) => void;
  const result = new Promise<{ protocol: string | undefined; bytes: Promise<string>; destroyed: boolean }>((r) => (onResult = r));
  let firstRead!: () => void;
  const firstReadSeen = new Promise<void>((r) => (firstRead = r));
  const server = net.createServer((socket) => {
    socket.once("data", () => firstRead());
    void sniffProtocol(socket, timeoutMs).then((protocol) => {
      const chunks: Buffer[] = [];
      const bytes = new Promise<string>((resolve) => {
        socket.on("data", (c: Buffer) => chunks.push(c)).once("end", () => resolve(Buffer.concat(chunks).toString("latin1")));
      });
      socket.resume();
      onResult({ protocol, bytes, destroyed: socket.destroyed });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  await new Promise<void>((r) => client.once("connect", r));
  cleanups.push(() => {
    client.destroy();
    server.close();
  });
  return { client, result, firstReadSeen };
}

describe("sniffProtocol", () => {
  it("recognises the HTTP/2 preface split across reads and hands every byte on", async () => {
    const { client, result, firstReadSeen } = await pair();
    client.write(PREFACE.slice(0, 5));
    await firstReadSeen;
    client.end(`${PREFACE.slice(5)}frames`);
    const { protocol, bytes } = await result;
    expect(protocol).toBe("h2");
    expect(await bytes).toBe(`${PREFACE}frames`);
  });

  it("tells a request starting with P (POST) from the preface once a byte differs", async () => {
    const { client, result, firstReadSeen } = await pair();
    client.write("P");
    await firstReadSeen;
    client.end("OST /x HTTP/1.1\r\nhost: a\r\n\r\n");
    const { protocol, bytes } = await result;
    expect(protocol).toBe("http1");
    expect(await bytes).toBe("POST /x HTTP/1.1\r\nhost: a\r\n\r\n");
  });

  it("drops a connection that stays silent past the timeout", async () => {
    const { client, result } = await pair(50);
    const clientClosed = new Promise<void>((r) => client.once("close", () => r()));
    expect(await result).toMatchObject({ protocol: undefined, destroyed: true });
    await clientClosed;
  });

  it("drops a connection that closes before it sent enough to decide", async () => {
    const { client, result, firstReadSeen } = await pair();
    client.write("PRI *");
    await firstReadSeen;
    client.end();
    expect(await result).toMatchObject({ protocol: undefined, destroyed: true });
  });
});
