import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { context, trace } from "@opentelemetry/api";
import { activeTracer } from "@taskflow/client";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, ConfigReader } from "./config-reader.js";
import { captureLogs } from "../test/support.js";
import { readTracingConfig, startTracing, tracesUrlOf } from "./tracing-config.js";

const read = (env: Record<string, string>) => {
  const r = new ConfigReader(env);
  const c = readTracingConfig(r);
  r.done();
  return c;
};

describe("readTracingConfig", () => {
  it("is off by default and reads the standard variables", () => {
    expect(read({})).toEqual({ otlpEndpoint: "", serviceName: "" });
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel:4318", OTEL_SERVICE_NAME: "tf-scheduler" })).toEqual({
      otlpEndpoint: "http://otel:4318",
      serviceName: "tf-scheduler",
    });
  });

  it.each(["not a url", "otel:4318", "grpc://otel:4317"])("refuses the endpoint %j: OTLP over HTTP needs an http(s) URL", (endpoint) => {
    expect(() => read({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint })).toThrow(ConfigError);
  });

  it("sends traces to <endpoint>/v1/traces", () => {
    expect(tracesUrlOf("http://otel:4318")).toBe("http://otel:4318/v1/traces");
    expect(tracesUrlOf("http://otel:4318/base/")).toBe("http://otel:4318/base/v1/traces");
  });
});

describe("startTracing", () => {
  const received: { url?: string; contentType?: string; body: Buffer }[] = [];
  const collector = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ url: req.url, contentType: req.headers["content-type"], body: Buffer.concat(chunks) });
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  afterAll(async () => {
    await new Promise((resolve) => collector.close(resolve));
    trace.disable();
    context.disable();
  });

  it("registers nothing without an endpoint", async () => {
    expect(await startTracing({ otlpEndpoint: "", serviceName: "" }, "scheduler", captureLogs().logger)).toBeUndefined();
    expect(activeTracer("t")).toBeUndefined();
  });

  it("exports spans over OTLP/HTTP as protobuf, flushed on shutdown", async () => {
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const logs = captureLogs();
    const running = await startTracing({ otlpEndpoint: endpoint, serviceName: "tf-test" }, "scheduler", logs.logger);
    expect(logs.lines.find((l) => l.msg === "tracing on")).toMatchObject({ endpoint, service_name: "tf-test" });
    activeTracer("t")!.startSpan("exported-span").end();
    await running!.shutdown();
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ url: "/v1/traces", contentType: "application/x-protobuf" });
    expect(received[0]!.body.includes("exported-span")).toBe(true);
    expect(received[0]!.body.includes("tf-test")).toBe(true);
  });
});
