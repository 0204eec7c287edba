import * as net from "node:net";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { SchedulerService } from "@taskflow/proto";
import { afterAll, describe, expect, it } from "vitest";
import { captureLogs, schedulerRegistration } from "../test/support.js";
import { createServiceTransport } from "./create-service-transport.js";
import { startServer, type RunningServer } from "./start-server.js";

const cleanups: (() => unknown)[] = [];
afterAll(() => Promise.all(cleanups.map((c) => c())));

/** A TCP relay to `port` that counts the connections made through it. */
async function countingRelay(port: number) {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const relay = net.createServer((inbound) => {
    connections++;
    const outbound = net.connect(port, "127.0.0.1");
    sockets.add(inbound).add(outbound);
    inbound.pipe(outbound).pipe(inbound);
    inbound.on("error", () => outbound.destroy());
    outbound.on("error", () => inbound.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
  cleanups.push(() => {
    sockets.forEach((s) => s.destroy());
    relay.close();
  });
  return { url: `http://127.0.0.1:${(relay.address() as net.AddressInfo).port}`, connections: () => connections };
}

describe("createServiceTransport", () => {
  it("calls another service with the Connect protocol, binary and uncompressed, every call on one h2c connection", async () => {
    const contentTypes: (string | null)[] = [];
    const accepted: (string | null)[] = [];
    const record: Interceptor = (next) => async (req) => {
      contentTypes.push(req.header.get("content-type"));
      accepted.push(req.header.get("accept-encoding"));
      return next(req);
    };
    const server: RunningServer = await startServer({
      host: "127.0.0.1",
      port: 0,
      services: [schedulerRegistration],
      logger: captureLogs().logger,
      interceptors: [record],
    });
    cleanups.push(() => server.close());
    const relay = await countingRelay(server.port);
    const client = createClient(SchedulerService, createServiceTransport(relay.url));
    const jobs = await Promise.all(["a", "b", "c"].map((type) => client.submitJob({ type })));
    await client.submitJob({ type: "d" });
    expect(jobs.map((r) => r.job?.type)).toEqual(["a", "b", "c"]);
    expect(contentTypes).toEqual(Array(4).fill("application/proto"));
    // No compression offered: the answers come back as they are.
    expect(accepted).toEqual(Array(4).fill(null));
    expect(relay.connections()).toBe(1);
  });
});
