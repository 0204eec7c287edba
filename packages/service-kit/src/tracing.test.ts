import { Code, createClient, type ServiceImpl } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { contextOfTraceParent, formatTraceParent, injectTraceContext, parseTraceParent } from "@taskflow/client";
import { SchedulerService } from "@taskflow/proto";
import { rejection } from "@taskflow/test-helpers";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { captureLogs, schedulerImpl, StreamService } from "../test/support.js";
import { startServer, type RunningServer } from "./start-server.js";
import { activeTraceParent, RPC_ATTRIBUTES } from "./tracing.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID = "00f067aa0ba902b7";
const TRACE_PARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let server: RunningServer;
let lines: ReturnType<typeof captureLogs>["lines"];

const countTo: ServiceImpl<typeof StreamService>["count"] = async function* (req) {
  for (let i = 0; i < req.value; i += 1) yield await Promise.resolve({ value: i });
};

/** Runs injectTraceContext on an empty request and returns the headers it sent on. */
async function sentHeaders(): Promise<Headers> {
  let sent: Headers | undefined;
  const req = { header: new Headers() } as Parameters<ReturnType<typeof injectTraceContext>>[0];
  await injectTraceContext((r) => {
    sent = r.header;
    return Promise.resolve({} as never);
  })(req);
  return sent!;
}

describe("trace context in headers, without a registered provider", () => {
  it("injects nothing and creates no span", async () => {
    const tracer = trace.getTracer("t");
    const span = tracer.startSpan("s");
    await context.with(trace.setSpan(context.active(), span), async () => {
      expect((await sentHeaders()).has("traceparent")).toBe(false);
      expect(activeTraceParent()).toBe("");
    });
    expect(span.isRecording()).toBe(false);
  });
});

describe("W3C traceparent", () => {
  it("formats and parses the same span context", () => {
    const sc = parseTraceParent(TRACE_PARENT);
    expect(sc).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: true });
    expect(formatTraceParent(sc)).toBe(TRACE_PARENT);
  });

  it.each(["", "00-xyz", `01-${TRACE_ID}-${SPAN_ID}-01`, `00-${"0".repeat(32)}-${SPAN_ID}-01`, `00-${TRACE_ID}-${"0".repeat(16)}-01`, `${TRACE_PARENT}-extra`])(
    "refuses %j, so a bad value starts a new trace",
    (value) => {
      expect(parseTraceParent(value)).toBeUndefined();
      expect(trace.getSpanContext(contextOfTraceParent(value))).toBeUndefined();
    },
  );
});

describe("with a registered provider", () => {
  beforeAll(async () => {
    provider.register();
    const logs = captureLogs();
    lines = logs.lines;
    const impl: Partial<ServiceImpl<typeof SchedulerService>> = {
      ...schedulerImpl,
      submitJob(req) {
        logs.logger.info({ traceparent: activeTraceParent() }, "handling");
        return schedulerImpl.submitJob!(req, undefined as never);
      },
    };
    server = await startServer({
      host: "127.0.0.1",
      port: 0,
      logger: logs.logger,
      services: [
        { service: SchedulerService, impl },
        { service: StreamService, impl: { count: countTo } },
      ],
    });
  });
  afterEach(() => exporter.reset());
  afterAll(async () => {
    await server?.close();
    await provider.shutdown();
    trace.disable();
    context.disable();
  });

  const client = () => createClient(SchedulerService, createConnectTransport({ baseUrl: server.url, httpVersion: "2" }));

  it("injects the active span's traceparent into a call's headers", async () => {
    const span = trace.getTracer("t").startSpan("caller");
    const headers = await context.with(trace.setSpan(context.active(), span), () => sentHeaders());
    span.end();
    const sc = span.spanContext();
    expect(headers.get("traceparent")).toBe(`00-${sc.traceId}-${sc.spanId}-01`);
  });

  it("injects nothing outside a span", async () => {
    expect((await sentHeaders()).has("traceparent")).toBe(false);
  });

  it("continues the caller's trace from traceparent and tracestate in a SERVER span per call", async () => {
    await client().submitJob({ type: "echo" }, { headers: { traceparent: TRACE_PARENT, tracestate: "vendor=abc" } });
    const [span] = exporter.getFinishedSpans();
    expect(span).toBeDefined();
    expect(span!.name).toBe("taskflow.v1.SchedulerService/SubmitJob");
    expect(span!.kind).toBe(SpanKind.SERVER);
    expect(span!.spanContext().traceId).toBe(TRACE_ID);
    expect(span!.parentSpanContext?.spanId).toBe(SPAN_ID);
    expect(span!.spanContext().traceState?.get("vendor")).toBe("abc");
    expect(span!.attributes).toMatchObject({
      [RPC_ATTRIBUTES.system]: "connect_rpc",
      [RPC_ATTRIBUTES.service]: "taskflow.v1.SchedulerService",
      [RPC_ATTRIBUTES.method]: "SubmitJob",
      [RPC_ATTRIBUTES.grpcStatusCode]: 0,
    });
    // The handler ran inside the span: its log line and its traceparent name it.
    const line = lines.find((l) => l.msg === "handling");
    expect(line).toMatchObject({
      trace_id: TRACE_ID,
      span_id: span!.spanContext().spanId,
      procedure: "taskflow.v1.SchedulerService/SubmitJob",
      traceparent: `00-${TRACE_ID}-${span!.spanContext().spanId}-01`,
    });
  });

  it("starts a new trace without traceparent", async () => {
    await client().submitJob({ type: "echo" });
    const [span] = exporter.getFinishedSpans();
    expect(span!.parentSpanContext).toBeUndefined();
  });

  it("records the gRPC code, with an error status only for server faults", async () => {
    expect(await rejection(client().cancelJob({ id: "x" }))).toMatchObject({ code: Code.NotFound });
    expect(await rejection(client().submitJobs({}))).toMatchObject({ code: Code.Internal });
    const [notFound, internal] = exporter.getFinishedSpans();
    expect(notFound!.attributes[RPC_ATTRIBUTES.grpcStatusCode]).toBe(Code.NotFound);
    expect(notFound!.status.code).toBe(SpanStatusCode.UNSET);
    expect(internal!.attributes[RPC_ATTRIBUTES.grpcStatusCode]).toBe(Code.Internal);
    expect(internal!.status.code).toBe(SpanStatusCode.ERROR);
    // The kit's message, never the driver's text.
    expect(JSON.stringify(internal!.events)).not.toContain("hunter2");
  });

  it("ends a stream's span when the stream ends", async () => {
    const stream = createClient(StreamService, createConnectTransport({ baseUrl: server.url, httpVersion: "2" }));
    const got: number[] = [];
    for await (const m of stream.count({ value: 3 })) got.push(m.value);
    expect(got).toEqual([0, 1, 2]);
    const [span] = exporter.getFinishedSpans();
    expect(span!.name).toBe("kittest.v1.StreamService/Count");
    expect(span!.attributes[RPC_ATTRIBUTES.grpcStatusCode]).toBe(0);
  });

  it("traces no health check", async () => {
    const res = await fetch(`${server.url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: TRACE_PARENT },
      body: "{}",
    });
    expect(res.status).toBe(200);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
