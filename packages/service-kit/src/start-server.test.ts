import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Code, createClient, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { SchedulerService } from "@taskflow/proto";
import { rejection } from "@taskflow/test-helpers";
import { afterEach, describe, expect, it } from "vitest";
import { allTransports, captureLogs, schedulerRegistration, StreamService } from "../test/support.js";
import { startServer, type RunningServer, type ServerOptions } from "./start-server.js";

const protoRoot = fileURLToPath(new URL("../../../proto", import.meta.url));
const running: RunningServer[] = [];

async function start(overrides: Partial<ServerOptions> = {}) {
  const logs = captureLogs();
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    services: [schedulerRegistration],
    logger: logs.logger,
    ...overrides,
  });
  running.push(server);
  return { server, lines: logs.lines };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

describe("startServer", () => {
  it("listens on a free port when given 0 and reports it in url", async () => {
    const { server } = await start();
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it("rejects when the port is taken", async () => {
    const { server } = await start();
    await expect(start({ port: server.port })).rejects.toMatchObject({ code: "EADDRINUSE" });
  });

  it("serves one call over Connect, gRPC and gRPC-Web, on HTTP/1.1 and h2c, on one port", async () => {
    const { server } = await start();
    for (const { name, transport, close } of allTransports(server.url)) {
      const client = createClient(SchedulerService, transport);
      const res = await client.submitJob({ type: "email.send", queue: "mail" });
      expect({ name, type: res.job?.type, queue: res.job?.queue }).toEqual({ name, type: "email.send", queue: "mail" });
      close();
    }
  });

  it.each([
    ["an unknown field", '{"type":"echo","tpye":"typo"}'],
    ["malformed JSON", '{"type":'],
    ["a wrong field type", '{"type":42}'],
  ])("refuses a Connect JSON body with %s as invalid_argument", async (_what, body) => {
    const { server } = await start();
    const res = await fetch(`${server.url}/taskflow.v1.SchedulerService/SubmitJob`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect({ status: res.status, code: ((await res.json()) as { code?: string }).code }).toEqual({
      status: 400,
      code: "invalid_argument",
    });
  });

  it("answers a plain HTTP/1.1 JSON request such as curl sends", async () => {
    const { server } = await start();
    const res = await fetch(`${server.url}/taskflow.v1.SchedulerService/SubmitJob`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "echo" }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ job: { id: "job-1", type: "echo", queue: "default" } });
  });

  it("answers a grpc-js client", async () => {
    const { server } = await start();
    const def = protoLoader.loadSync("taskflow/v1/scheduler.proto", { includeDirs: [protoRoot] });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      taskflow: { v1: { SchedulerService: grpc.ServiceClientConstructor } };
    };
    const client = new pkg.taskflow.v1.SchedulerService(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    type SubmitJob = (req: object, cb: (err: grpc.ServiceError | null, res: { job: { type: string } }) => void) => void;
    const submitJob = client["SubmitJob"] as SubmitJob;
    try {
      const res = await new Promise<{ job: { type: string } }>((resolve, reject) =>
        submitJob.call(client, { type: "report.build" }, (err, out) => (err ? reject(err) : resolve(out))),
      );
      expect(res.job.type).toBe("report.build");
    } finally {
      client.close();
    }
  });

  it("streams over every protocol, HTTP/1.1 included", async () => {
    const { server } = await start({ services: [{ service: StreamService, impl: { count: countTo } }] });
    for (const { name, transport, close } of allTransports(server.url)) {
      const values: number[] = [];
      for await (const m of createClient(StreamService, transport).count({ value: 3 })) {
        values.push(m.value);
      }
      expect({ name, values }).toEqual({ name, values: [0, 1, 2] });
      close();
    }
  });
});

describe("errors", () => {
  it("passes a handler's ConnectError through with its code and message", async () => {
    const { server } = await start();
    const client = createClient(SchedulerService, createGrpcTransport({ baseUrl: server.url }));
    const err = await rejection(client.cancelJob({ id: "nope" }));
    expect([err.code, err.rawMessage]).toEqual([Code.NotFound, "job nope not found"]);
  });

  it("turns any other error into Internal 'internal error' and logs the original as err", async () => {
    const { server, lines } = await start();
    for (const { name, transport, close } of allTransports(server.url)) {
      const err = await rejection(createClient(SchedulerService, transport).submitJobs({ jobs: [] }));
      expect({ name, code: err.code, message: err.rawMessage }).toEqual({ name, code: Code.Internal, message: "internal error" });
      close();
    }
    const logged = lines.filter((l) => l.msg === "internal error");
    expect(logged).toHaveLength(5);
    expect(logged[0]).toMatchObject({
      level: "error",
      procedure: "taskflow.v1.SchedulerService/SubmitJobs",
      err: { message: expect.stringContaining("ECONNREFUSED") },
    });
  });

  it("maps an error thrown in the middle of a stream the same way", async () => {
    const impl = {
      // eslint-disable-next-line @typescript-eslint/require-await -- a stream handler is an async *; nothing to await
      async *count() {
        yield { value: 0 };
        throw new Error("cursor lost");
      },
    };
    const { server, lines } = await start({ services: [{ service: StreamService, impl }] });
    const received: number[] = [];
    const stream = createClient(StreamService, createGrpcTransport({ baseUrl: server.url })).count({ value: 5 });
    const err = await rejection(
      (async () => {
        for await (const m of stream) received.push(m.value);
      })(),
    );
    expect([received, err.code, err.rawMessage]).toEqual([[0], Code.Internal, "internal error"]);
    expect(lines.find((l) => l.msg === "internal error")?.err).toMatchObject({ message: "cursor lost" });
  });

  it("answers Unimplemented for a method the service left out", async () => {
    const { server } = await start({ services: [{ service: SchedulerService, impl: {} }] });
    const client = createClient(SchedulerService, createGrpcTransport({ baseUrl: server.url }));
    const err = await rejection(client.submitJob({ type: "x" }));
    expect(err.code).toBe(Code.Unimplemented);
  });

  it("refuses a request message larger than readMaxBytes with ResourceExhausted", async () => {
    const { server } = await start({ readMaxBytes: 1024 });
    const client = createClient(SchedulerService, createGrpcTransport({ baseUrl: server.url }));
    await expect(client.submitJob({ type: "small" })).resolves.toBeDefined();
    const err = await rejection(client.submitJob({ type: "big", idempotencyKey: "k".repeat(2048) }));
    expect(err.code).toBe(Code.ResourceExhausted);
  });

  it("runs service interceptors inside the kit's, so their errors are mapped too", async () => {
    const seen: string[] = [];
    const record: Interceptor = (next) => async (req) => {
      seen.push(req.header.get("x-caller") ?? "");
      return next(req);
    };
    const explode: Interceptor = () => () => Promise.reject(new Error("interceptor bug"));
    const { server, lines } = await start({ interceptors: [record, explode] });
    const client = createClient(SchedulerService, createGrpcTransport({ baseUrl: server.url }));
    const err = await rejection(client.submitJob({ type: "x" }, { headers: { "x-caller": "ops" } }));
    expect([seen, err.code, err.rawMessage]).toEqual([["ops"], Code.Internal, "internal error"]);
    expect(lines.some((l) => l.msg === "internal error")).toBe(true);
  });

  it("logs every finished call at debug with procedure, code and duration", async () => {
    const { server, lines } = await start();
    const client = createClient(SchedulerService, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    await client.submitJob({ type: "x" });
    await client.cancelJob({ id: "nope" }).catch(() => undefined);
    const calls = lines.filter((l) => l.msg === "rpc finished");
    expect(calls.map((l) => [l.level, l.procedure, l.code])).toEqual([
      ["debug", "taskflow.v1.SchedulerService/SubmitJob", "ok"],
      ["debug", "taskflow.v1.SchedulerService/CancelJob", "not_found"],
    ]);
    expect(calls[0]?.duration_ms).toEqual(expect.any(Number));
  });
});

// eslint-disable-next-line @typescript-eslint/require-await -- a stream handler is an async *; nothing to await
const countTo: ServiceImpl<typeof StreamService>["count"] = async function* (req) {
  for (let i = 0; i < req.value; i++) yield { value: i };
};
