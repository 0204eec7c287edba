import { createServer } from "node:net";
import type { AddressInfo } from "node:net";

/** A TCP port nothing listens on now (bound on port 0 and released; a restart reuses it at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
