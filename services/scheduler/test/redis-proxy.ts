import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { testRedisUrl } from "@taskflow/testkit";

/** A TCP proxy in front of the test Redis that a test can cut, to see how the scheduler copes with Redis going away. */
export interface RedisProxy {
  url: string;
  /** Stops accepting connections and drops the open ones. */
  cut(): Promise<void>;
}

export async function startRedisProxy(): Promise<RedisProxy> {
  const upstream = new URL(testRedisUrl());
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
  };
  const server = createServer((client) => {
    const redis = connect(Number(upstream.port || 6379), upstream.hostname);
    track(client);
    track(redis);
    client.pipe(redis).pipe(client);
    client.on("close", () => redis.destroy());
    redis.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    cut: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
