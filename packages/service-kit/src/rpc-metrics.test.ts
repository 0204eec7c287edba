import { Code, ConnectError, createClient, type ServiceImpl } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { SchedulerService } from "@taskflow/proto";
import { rejection } from "@taskflow/test-helpers";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { captureLogs, schedulerRegistration, StreamService } from "../test/support.js";
import { grpcCodeName, grpcType } from "./rpc-metrics.js";
import { startServer, type RunningServer } from "./start-server.js";

/** grpc-go's `codes.Code.String()` for each code number, the names go-grpc-prometheus records. */
const GRPC_GO_NAMES = [
  "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied",
  "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable",
  "DataLoss", "Unauthenticated",
];

describe("grpcCodeName", () => {
  it("names every code as grpc-go does, OK for no error", () => {
    const names = [grpcCodeName(), ...Array.from({ length: 16 }, (_, i) => grpcCodeName(new ConnectError("x", (i + 1) as Code)))];
    expect(names).toEqual(GRPC_GO_NAMES);
  });

  it("names an error that is not a ConnectError Unknown, as ConnectError.from reads it", () => {
    expect(grpcCodeName(new Error("boom"))).toBe("Unknown");
  });
});

describe("grpcType", () => {
  it("spells method kinds as go-grpc-prometheus does", () => {
    expect(["unary", "server_streaming", "client_streaming", "bidi_streaming"].map(grpcType)).toEqual([
      "unary", "server_stream", "client_stream", "bidi_stream",
    ]);
  });
});

const running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function serve(registry: Registry): Promise<RunningServer> {
  // eslint-disable-next-line @typescript-eslint/require-await -- a stream handler is an async *; nothing to await
  const count: ServiceImpl<typeof StreamService>["count"] = async function* (req) {
    for (let i = 0; i < req.value; i++) yield { value: i };
    if (req.value === 2) throw new ConnectError("two is bad", Code.OutOfRange);
  };
  const impl = { count };
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    services: [schedulerRegistration, { service: StreamService, impl }],
    logger: captureLogs().logger,
    metrics: registry,
  });
  running.push(server);
  return server;
}

/** The value of one sample line of `text`, or undefined when the line is absent. */
function sample(text: string, line: string): number | undefined {
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe("the RPC metrics a server records", () => {
  it("counts calls by method and code as the error interceptor mapped them, and times them", async () => {
    const registry = new Registry();
    const server = await serve(registry);
    const client = createClient(SchedulerService, createGrpcTransport({ baseUrl: server.url }));
    await client.submitJob({ type: "a" });
    await client.submitJob({ type: "b" });
    expect((await rejection(client.cancelJob({ id: "nope" }))).code).toBe(Code.NotFound);
    // A plain Error from the handler reaches the caller, and the metrics, as Internal.
    expect((await rejection(client.submitJobs({ jobs: [] }))).code).toBe(Code.Internal);

    const text = await (await fetch(`${server.url}/metrics`)).text();
    const m = 'grpc_type="unary",grpc_service="taskflow.v1.SchedulerService"';
    expect(sample(text, `grpc_server_started_total{${m},grpc_method="SubmitJob"}`)).toBe(2);
    expect(sample(text, `grpc_server_handled_total{${m},grpc_method="SubmitJob",grpc_code="OK"}`)).toBe(2);
    expect(sample(text, `grpc_server_handled_total{${m},grpc_method="CancelJob",grpc_code="NotFound"}`)).toBe(1);
    expect(sample(text, `grpc_server_handled_total{${m},grpc_method="SubmitJobs",grpc_code="Internal"}`)).toBe(1);
    expect(sample(text, `grpc_server_handled_total{${m},grpc_method="SubmitJobs",grpc_code="Unknown"}`)).toBeUndefined();
    expect(sample(text, `grpc_server_handling_seconds_count{${m},grpc_method="SubmitJob"}`)).toBe(2);
    expect(sample(text, `grpc_server_handling_seconds_bucket{le="60",${m},grpc_method="SubmitJob"}`)).toBe(2);
  });

  it("counts a stream once it ends, with the code it ended with", async () => {
    const registry = new Registry();
    const server = await serve(registry);
    const client = createClient(StreamService, createGrpcTransport({ baseUrl: server.url }));
    const received: number[] = [];
    for await (const m of client.count({ value: 3 })) received.push(m.value);
    const err = await rejection(
      (async () => {
        for await (const m of client.count({ value: 2 })) received.push(m.value);
      })(),
    );
    expect([received, err.code]).toEqual([[0, 1, 2, 0, 1], Code.OutOfRange]);

    const text = await (await fetch(`${server.url}/metrics`)).text();
    const m = 'grpc_type="server_stream",grpc_service="kittest.v1.StreamService",grpc_method="Count"';
    expect(sample(text, `grpc_server_started_total{${m}}`)).toBe(2);
    expect(sample(text, `grpc_server_handled_total{${m},grpc_code="OK"}`)).toBe(1);
    expect(sample(text, `grpc_server_handled_total{${m},grpc_code="OutOfRange"}`)).toBe(1);
    expect(sample(text, `grpc_server_handling_seconds_count{${m}}`)).toBe(2);
  });

  it("shares the metrics of a registry between two servers", async () => {
    const registry = new Registry();
    const [a, b] = [await serve(registry), await serve(registry)];
    for (const s of [a, b]) await createClient(SchedulerService, createGrpcTransport({ baseUrl: s.url })).submitJob({ type: "x" });
    const text = await registry.metrics();
    const m = 'grpc_type="unary",grpc_service="taskflow.v1.SchedulerService",grpc_method="SubmitJob"';
    expect(sample(text, `grpc_server_handled_total{${m},grpc_code="OK"}`)).toBe(2);
  });
});
