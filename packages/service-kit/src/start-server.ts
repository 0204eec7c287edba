import * as http from "node:http";
import * as http2 from "node:http2";
import { setMaxListeners } from "node:events";
import * as net from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Health } from "@taskflow/proto/gen/grpc/health/v1/health_pb";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { createAuthInterceptor } from "./auth/auth-interceptor.js";
import { TASKFLOW_ACCESS, type AccessPolicy } from "./auth/access-policy.js";
import type { Authenticator } from "./auth/authenticator.js";
import { invalidArgumentOnDecodeError } from "./decode-error-gate.js";
import { createErrorInterceptor } from "./error-interceptor.js";
import { HealthMonitor, type HealthOptions } from "./health-monitor.js";
import { createHealthService } from "./health-service.js";
import { createLoggingInterceptor } from "./logging-interceptor.js";
import { isMetricsRequest, serveMetrics } from "./metrics-route.js";
import { ReflectionIndex } from "./reflection-index.js";
import { createRpcMetricsInterceptor } from "./rpc-metrics.js";
import { createTracingInterceptor } from "./tracing.js";
import {
  createReflectionServiceV1,
  createReflectionServiceV1Alpha,
  ServerReflectionV1,
  ServerReflectionV1Alpha,
} from "./reflection-service.js";
import { ServerConnections } from "./server-connections.js";
import { sniffProtocol } from "./sniff-protocol.js";
import { peerCertificateOf, ServerTls, type ServerTlsFiles } from "./tls/server-tls.js";

/** One service a server exposes: its generated descriptor and its handlers. */
export interface ServiceRegistration {
  service: DescService;
  /** Methods left out answer `Unimplemented`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- one list holds impls of different services
  impl: Partial<ServiceImpl<any>>;
}

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** Interface to listen on, e.g. `127.0.0.1` or `0.0.0.0`. */
  host: string;
  /** TCP port; 0 picks a free one, reported in {@link RunningServer.port}. */
  port: number;
  /** Served over gRPC, gRPC-Web and Connect, on h2c and HTTP/1.1, all on one port. */
  services: ServiceRegistration[];
  logger: Logger;
  /** Largest request message in bytes; larger ones fail with `ResourceExhausted`. Default 4 MiB. */
  readMaxBytes?: number;
  /** What `grpc.health.v1.Health` reports; without it the server is SERVING while it runs. */
  health?: HealthOptions;
  /** Run inside the kit's logging and error interceptors, in order, outermost first. */
  interceptors?: Interceptor[];
  /** How long `close()` lets running calls finish before cutting them, in ms. Default 10000. */
  shutdownGraceMs?: number;
  /**
   * Served at `GET /metrics` in the Prometheus text format, on the same port (HTTP/1.1, as
   * Prometheus scrapes, and h2c); without it that path is the RPC router's 404. Every call is
   * counted and timed on it (see createRpcMetricsInterceptor).
   */
  metrics?: Registry;
  /**
   * Who may call: every call but health and reflection needs an identity the authenticator
   * verifies, holding a role `policy` (default TaskFlow's) names for the method. Without an
   * authenticator (authentication off) every call passes unverified.
   */
  auth?: { authenticator: Authenticator | undefined; policy?: AccessPolicy };
  /**
   * Serve over TLS (HTTP/2 and HTTP/1.1 by ALPN) with this certificate and key, re-read when they
   * change; with a client CA, client certificates are asked for and verified against it (see
   * Authenticator). Without it (or with an empty certFile), h2c and HTTP/1.1 in the clear.
   */
  tls?: ServerTlsFiles;
}

/** A listening server. */
export interface RunningServer {
  /** `http://host:port` (`https://` over TLS), with the port actually bound. */
  url: string;
  host: string;
  port: number;
  /**
   * Drains and stops the server: health turns NOT_SERVING, no new connections or calls are
   * accepted, streams see their signal abort with `Unavailable`, running calls get the grace
   * period to finish. Idempotent; resolves once every connection is closed.
   */
  close(): Promise<void>;
}

/**
 * Once the answer is sent, stops a request whose body was not read to its end (one refused over
 * the read limit): HTTP/2 resets the stream, so the client stops sending, and Node does not keep
 * buffering the rest against the session's memory, which would close the whole session, every
 * other call on it included, with ENHANCE_YOUR_CALM. HTTP/1.1 closes the connection.
 */
function discardUnreadBody(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: { once(event: "finish", listener: () => void): unknown },
): void {
  res.once("finish", () => {
    if (req.complete) return;
    if ("stream" in req) req.stream.close(http2.constants.NGHTTP2_CANCEL);
    else req.destroy();
  });
}

/** HTTP/2 session memory, in MB: room for four messages at the read limit, and at least 64 MB. */
const sessionMemoryMb = (readMaxBytes: number): number => Math.max(64, Math.ceil((4 * readMaxBytes) / 1_000_000));

/** Default of {@link ServerOptions.readMaxBytes}: 4 MiB, gRPC's usual limit. */
export const DEFAULT_READ_MAX_BYTES = 4 * 1024 * 1024;
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/**
 * Starts serving `services` plus `grpc.health.v1.Health` and server reflection (`v1` and
 * `v1alpha`) on one port, and `GET /metrics` when given a registry. Every call runs through the
 * tracing (a span per call once a tracer provider is registered), logging, metrics, error and
 * authentication interceptors, so any error that is not a `ConnectError` reaches the caller as
 * `Internal` "internal error", and a caller without the method's role is refused. A body that does not decode (JSON or binary) or names an
 * unknown field or enum value is `InvalidArgument`; a message over `readMaxBytes` is
 * `ResourceExhausted`.
 *
 * @throws {Error} when the port cannot be bound (e.g. `EADDRINUSE`).
 */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const logger = opts.logger.child({ component: "server" });
  const monitor = new HealthMonitor(opts.health, opts.logger.child({ component: "health" }));
  const secure = opts.tls !== undefined && opts.tls.certFile !== "" ? new ServerTls(opts.tls, logger) : undefined;
  const shutdown = new AbortController();
  // Every in-flight call listens on this signal; past ten that is load, not a leak.
  setMaxListeners(0, shutdown.signal);
  const handler = connectNodeAdapter({
    routes: (router) => registerServices(router, opts.services, monitor),
    readMaxBytes: opts.readMaxBytes ?? DEFAULT_READ_MAX_BYTES,
    // Connect ignores unknown JSON fields and enum names by default; a typo in a field name
    // must be an error, not a silently dropped setting.
    jsonOptions: { ignoreUnknownFields: false },
    requestGate: invalidArgumentOnDecodeError,
    interceptors: [
      // Outermost: the span covers every other interceptor, sees the code they map, and is
      // active while they log.
      createTracingInterceptor(),
      createLoggingInterceptor(logger),
      ...(opts.metrics === undefined ? [] : [createRpcMetricsInterceptor(opts.metrics)]),
      createErrorInterceptor(logger),
      createAuthInterceptor(opts.auth?.authenticator, opts.auth?.policy ?? TASKFLOW_ACCESS),
      ...(opts.interceptors ?? []),
    ],
    shutdownSignal: shutdown.signal,
    contextValues: secure?.asksForCertificates === true ? peerCertificateOf : undefined,
  });
  const conns = new ServerConnections();
  const metrics = opts.metrics;
  const serve: typeof handler = (req, res) => {
    conns.trackRequest(req, res);
    discardUnreadBody(req, res);
    if (metrics !== undefined && isMetricsRequest(req)) void serveMetrics(metrics, req, res, logger);
    else handler(req, res);
  };
  const http1Server = http.createServer(serve);
  // Node closes a session (ENHANCE_YOUR_CALM) whose queued frames pass maxSessionMemory (10 MB by
  // default). Answers and requests are bounded well below the read limit, but a worker's session
  // may carry a lease answer, a report and heartbeats at once: leave room for several.
  const http2Server = http2.createServer({ maxSessionMemory: sessionMemoryMb(opts.readMaxBytes ?? DEFAULT_READ_MAX_BYTES) }, serve);
  http2Server.on("session", (session) => conns.addSession(session));
  const listener =
    secure === undefined
      ? net.createServer({ noDelay: true }, (socket) => {
          conns.addSocket(socket);
          void routeConnection(socket, conns, http1Server, http2Server);
        })
      : secure.createServer((socket) => {
          conns.addSocket(socket);
          socket.on("error", () => socket.destroy());
          // ALPN chose the protocol during the handshake; a client that offered none speaks HTTP/1.1.
          if (socket.alpnProtocol === "h2") {
            conns.markHttp2(socket);
            http2Server.emit("connection", socket);
          } else {
            http1Server.emit("connection", socket);
          }
        });
  const port = await listen(listener, opts.host, opts.port).catch((err: unknown) => {
    secure?.close();
    throw err;
  });
  // http.Server starts its headers and request timeouts on "listening"; it never listens itself.
  http1Server.emit("listening");
  const close = async (): Promise<void> => {
    monitor.shutdown();
    shutdown.abort(new ConnectError("server is shutting down", Code.Unavailable));
    await drain(listener, conns, http1Server, opts.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS, logger);
    secure?.close();
  };
  let closing: Promise<void> | undefined;
  const scheme = secure === undefined ? "http" : "https";
  return { url: `${scheme}://${formatHost(opts.host)}:${port}`, host: opts.host, port, close: () => (closing ??= close()) };
}

function registerServices(router: ConnectRouter, services: readonly ServiceRegistration[], monitor: HealthMonitor): void {
  const names = services.map((s) => s.service.typeName);
  const index = new ReflectionIndex([...services.map((s) => s.service), Health, ServerReflectionV1, ServerReflectionV1Alpha]);
  for (const { service, impl } of services) router.service(service, impl);
  router.service(Health, createHealthService(monitor, names));
  router.service(ServerReflectionV1, createReflectionServiceV1(index));
  router.service(ServerReflectionV1Alpha, createReflectionServiceV1Alpha(index));
}

async function routeConnection(
  socket: net.Socket,
  conns: ServerConnections,
  http1Server: http.Server,
  http2Server: http2.Http2Server,
): Promise<void> {
  socket.on("error", () => socket.destroy());
  const protocol = await sniffProtocol(socket);
  if (protocol === "h2") {
    conns.markHttp2(socket);
    http2Server.emit("connection", socket);
  }
  if (protocol === "http1") http1Server.emit("connection", socket);
  socket.resume();
}

function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

async function drain(
  listener: net.Server,
  conns: ServerConnections,
  http1Server: http.Server,
  graceMs: number,
  logger: Logger,
): Promise<void> {
  const deadlineMs = Date.now() + graceMs;
  const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
  conns.beginClose();
  http1Server.close(() => undefined);
  const inflight = await conns.idle(deadlineMs);
  if (inflight > 0) logger.warn({ inflight, grace_ms: graceMs }, "shutdown grace period over");
  conns.endIdle();
  const cut = setTimeout(() => conns.destroyAll(), Math.max(0, deadlineMs - Date.now()));
  await closed;
  clearTimeout(cut);
}

function formatHost(host: string): string {
  return net.isIPv6(host) ? `[${host}]` : host;
}
