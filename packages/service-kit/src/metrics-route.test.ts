import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { SchedulerService } from "@taskflow/proto";
import { Counter, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { captureLogs, schedulerRegistration } from "../test/support.js";
import { isMetricsRequest } from "./metrics-route.js";
import { startServer, type RunningServer } from "./start-server.js";

const running: RunningServer[] = [];

async function start(metrics?: Registry): Promise<RunningServer> {
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    services: [schedulerRegistration],
    logger: captureLogs().logger,
    ...(metrics === undefined ? {} : { metrics }),
  });
  running.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

describe("GET /metrics", () => {
  it("serves the registry in the Prometheus text format over HTTP/1.1, beside gRPC and Connect", async () => {
    const registry = new Registry();
    const counter = new Counter({ name: "test_things_total", help: "Things", registers: [registry] });
    counter.inc(3);
    const server = await start(registry);

    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(registry.contentType);
    const text = await res.text();
    expect(text).toContain("# TYPE test_things_total counter");
    expect(text).toContain("test_things_total 3");

    const head = await fetch(`${server.url}/metrics?x=1`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");

    const grpc = createClient(SchedulerService, createGrpcTransport({ baseUrl: server.url }));
    expect((await grpc.submitJob({ type: "t.x" })).job?.type).toBe("t.x");
    const connect = createClient(SchedulerService, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    expect((await connect.submitJob({ type: "t.y" })).job?.type).toBe("t.y");
  });

  it("is the router's 404 without a registry", async () => {
    const server = await start();
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
  });

  it("matches only GET and HEAD of the path", () => {
    expect(isMetricsRequest({ method: "GET", url: "/metrics" })).toBe(true);
    expect(isMetricsRequest({ method: "GET", url: "/metrics?name[]=x" })).toBe(true);
    expect(isMetricsRequest({ method: "POST", url: "/metrics" })).toBe(false);
    expect(isMetricsRequest({ method: "GET", url: "/metricsx" })).toBe(false);
    expect(isMetricsRequest({ method: "GET", url: "/taskflow.v1.SchedulerService/SubmitJob" })).toBe(false);
  });
});
