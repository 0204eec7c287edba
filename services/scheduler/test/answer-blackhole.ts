import * as net from "node:net";

/** A TCP proxy in front of a server that can swallow the server's answers while requests still get through. */
export interface AnswerBlackhole {
  url: string;
  /** From now on, bytes from the server are dropped: the server acts, the client never hears back. */
  swallowAnswers(): void;
  close(): Promise<void>;
}

/**
 * Listens on a free port and pipes connections to `targetUrl`; after `swallowAnswers()` it keeps
 * forwarding the client's bytes but discards the server's, as a network that loses an answer
 * after the server sent it.
 */
export async function startAnswerBlackhole(targetUrl: string): Promise<AnswerBlackhole> {
  const target = new URL(targetUrl);
  let swallow = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => s.destroy()).on("close", () => sockets.delete(s));
    }
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => {
      if (!swallow) client.write(chunk);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    swallowAnswers: () => {
      swallow = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
