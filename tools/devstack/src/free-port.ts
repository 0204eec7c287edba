import { createServer, type AddressInfo } from "node:net";

/**
 * A TCP port nothing listens on right now, found by binding port 0 and releasing it. Another
 * process could take it before the caller binds it; the caller's own start-up error then says so.
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
