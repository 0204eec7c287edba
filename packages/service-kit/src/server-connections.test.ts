import * as net from "node:net";
import { Code, createClient, type ServiceImpl } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { SchedulerService } from "@taskflow/proto";
import { Health } from "@taskflow/proto/gen/grpc/health/v1/health_pb";
import { rejection } from "@taskflow/test-helpers";
import { describe, expect, it } from "vitest";
import { captureLogs } from "../test/support.js";
import { startServer, type ServerOptions } from "./start-server.js";

/** A SubmitJob handler that signals when it is running and answers only when released. */
function heldSubmit(opts: { ignoreAbort: boolean }) {
  let entered!: () => void;
  let release!: () => void;
  const running = new Promise<void>((r) => (entered = r));
  const released = new Promise<void>((r) => (release = r));
  const impl: Partial<ServiceImpl<typeof SchedulerService>> = {
    async submitJob(req, ctx) {
      entered();
      await (opts.ignoreAbort ? released : Promise.race([released, new Promise((r) => ctx.signal.addEventListener("abort", r))]));
      return { job: { id: "held", type: req.type } };
    },
  };
  return { impl, running, release };
}

function start(impl: Partial<ServiceImpl<typeof SchedulerService>>, overrides: Partial<ServerOptions> = {}) {
  return startServer({
    host: "127.0.0.1",
    port: 0,
    services: [{ service: SchedulerService, impl }],
    logger: captureLogs().logger,
    ...overrides,
  });
}

function connectRefused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
  });
}

describe("RunningServer.close", () => {
  it("returns at once when only idle h2c sessions and HTTP/1.1 keep-alive connections are open", async () => {
    // A grace period longer than the test timeout: waiting on it would fail the test.
    const server = await start(heldSubmit({ ignoreAbort: false }).impl, { shutdownGraceMs: 120_000 });
    const sessionManager = new Http2SessionManager(server.url);
    await createClient(Health, createGrpcTransport({ baseUrl: server.url, sessionManager })).check({});
    await createClient(Health, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" })).check({});
    expect(sessionManager.state()).not.toBe("closed");
    await server.close();
    expect(await connectRefused(server.port)).toBe("ECONNREFUSED");
    sessionManager.abort();
  });

  it("does not wait for a connection that has sent nothing yet", async () => {
    const server = await start({}, { shutdownGraceMs: 120_000 });
    const silent = net.connect(server.port, "127.0.0.1");
    await new Promise<void>((r) => silent.once("connect", () => r()));
    const ended = new Promise<void>((r) => silent.once("end", () => r()));
    await server.close();
    await ended;
    silent.destroy();
  }, 5_000); // well under SNIFF_TIMEOUT_MS: close ends the connection rather than wait for the sniff


  it("refuses new connections at once but lets a running call finish", async () => {
    const held = heldSubmit({ ignoreAbort: true });
    const server = await start(held.impl, { shutdownGraceMs: 120_000 });
    const call = createClient(SchedulerService, createGrpcTransport({ baseUrl: server.url })).submitJob({ type: "slow" });
    await held.running;
    const closed = server.close();
    expect(await connectRefused(server.port)).toBe("ECONNREFUSED");
    held.release();
    expect((await call).job?.id).toBe("held");
    await closed;
  });

  it("aborts handlers' signals so long polls return, and ends open streams with Unavailable", async () => {
    const held = heldSubmit({ ignoreAbort: false });
    const server = await start(held.impl, { shutdownGraceMs: 120_000 });
    const transport = createGrpcTransport({ baseUrl: server.url });
    const call = createClient(SchedulerService, transport).submitJob({ type: "poll" });
    const watch = createClient(Health, transport).watch({})[Symbol.asyncIterator]();
    expect((await watch.next()).done).toBe(false);
    await held.running;
    await server.close();
    expect((await call).job?.id).toBe("held");
    expect((await rejection(watch.next())).code).toBe(Code.Unavailable);
  });

  it("cuts a call that outlives the grace period, and says so in the log", async () => {
    const held = heldSubmit({ ignoreAbort: true });
    const { logger, lines } = captureLogs();
    const server = await start(held.impl, { shutdownGraceMs: 100, logger });
    const failed = rejection(createClient(SchedulerService, createGrpcTransport({ baseUrl: server.url })).submitJob({ type: "stuck" }));
    await held.running;
    await server.close();
    // The session is destroyed, so the client sees its stream reset: Canceled.
    expect((await failed).code).toBe(Code.Canceled);
    expect(lines.find((l) => l.msg === "shutdown grace period over")).toMatchObject({ level: "warn", inflight: 1 });
    held.release();
  });

  it("is idempotent", async () => {
    const server = await start({});
    const first = server.close();
    expect(server.close()).toBe(first);
    await first;
  });
});
