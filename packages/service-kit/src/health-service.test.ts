import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "@taskflow/proto/gen/grpc/health/v1/health_pb";
import { rejection } from "@taskflow/test-helpers";
import { afterEach, describe, expect, it } from "vitest";
import { captureLogs, schedulerRegistration } from "../test/support.js";
import type { HealthOptions } from "./health-monitor.js";
import { startServer, type RunningServer } from "./start-server.js";

const thirdParty = fileURLToPath(new URL("../../../third_party/proto", import.meta.url));
const running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function healthClient(health?: HealthOptions) {
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    services: [schedulerRegistration],
    logger: captureLogs().logger,
    health,
  });
  running.push(server);
  return { server, client: createClient(Health, createGrpcTransport({ baseUrl: server.url })) };
}

/** A check that passes while `state.up` is true. */
function switchable() {
  const state = { up: true };
  const check = (): Promise<void> =>
    state.up ? Promise.resolve() : Promise.reject(new Error("store unreachable"));
  return { state, check };
}

describe("grpc.health.v1.Health", () => {
  it("reports the whole server and each served service by name, and NotFound for others", async () => {
    const { client } = await healthClient();
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.SERVING);
    expect((await client.check({ service: "taskflow.v1.SchedulerService" })).status).toBe(ServingStatus.SERVING);
    expect((await rejection(client.check({ service: "taskflow.v1.Nope" }))).code).toBe(Code.NotFound);
  });

  it("reports NOT_SERVING while the check fails", async () => {
    const { state, check } = switchable();
    const { client } = await healthClient({ check });
    state.up = false;
    expect((await client.check({})).status).toBe(ServingStatus.NOT_SERVING);
    state.up = true;
    expect((await client.check({})).status).toBe(ServingStatus.SERVING);
  });

  it("lists every known name with its status", async () => {
    const { state, check } = switchable();
    const { client } = await healthClient({ check });
    state.up = false;
    const { statuses } = await client.list({});
    expect(Object.fromEntries(Object.entries(statuses).map(([k, v]) => [k, v.status]))).toEqual({
      "": ServingStatus.NOT_SERVING,
      "taskflow.v1.SchedulerService": ServingStatus.NOT_SERVING,
    });
  });

  it("streams the status on Watch and again on each change", async () => {
    const { state, check } = switchable();
    const { client } = await healthClient({ check, intervalMs: 10 });
    const watch = client.watch({ service: "" })[Symbol.asyncIterator]();
    expect((await watch.next()).value?.status).toBe(ServingStatus.SERVING);
    state.up = false;
    expect((await watch.next()).value?.status).toBe(ServingStatus.NOT_SERVING);
    state.up = true;
    expect((await watch.next()).value?.status).toBe(ServingStatus.SERVING);
    await watch.return?.();
  });

  it("answers SERVICE_UNKNOWN on Watch of an unknown name and keeps the stream open", async () => {
    const { client } = await healthClient();
    const controller = new AbortController();
    const watch = client.watch({ service: "taskflow.v1.Nope" }, { signal: controller.signal })[Symbol.asyncIterator]();
    expect((await watch.next()).value?.status).toBe(ServingStatus.SERVICE_UNKNOWN);
    const next = rejection(watch.next());
    controller.abort();
    expect((await next).code).toBe(Code.Canceled);
  });

  it("answers grpc-js health clients", async () => {
    const { server } = await healthClient();
    const def = protoLoader.loadSync("grpc/health/v1/health.proto", { includeDirs: [thirdParty], enums: String });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    const client = new pkg.grpc.health.v1.Health(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    type Check = (req: object, cb: (err: grpc.ServiceError | null, res: { status: string }) => void) => void;
    const check = client["Check"] as Check;
    try {
      const res = await new Promise<{ status: string }>((resolve, reject) =>
        check.call(client, { service: "" }, (err, out) => (err ? reject(err) : resolve(out))),
      );
      expect(res.status).toBe("SERVING");
    } finally {
      client.close();
    }
  });
});
