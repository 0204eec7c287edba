import { Writable } from "node:stream";
import { create, createFileRegistry } from "@bufbuild/protobuf";
import type { GenService } from "@bufbuild/protobuf/codegenv2";
import { FileDescriptorProtoSchema, file_google_protobuf_wrappers, type Int32ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import type { Transport } from "@connectrpc/connect";
import { SchedulerService } from "@taskflow/proto";
import type { Logger } from "pino";
import { createLogger } from "../src/create-logger.js";
import type { ServiceRegistration } from "../src/start-server.js";

/** Log lines written by {@link captureLogs}'s logger, parsed. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/** A debug-level logger whose lines are kept in memory for assertions. */
export function captureLogs(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: createLogger({ name: "service-kit-test", level: "debug" }, sink), lines };
}

/** A SchedulerService with one method per outcome the kit must handle. */
export const schedulerImpl: Partial<ServiceImpl<typeof SchedulerService>> = {
  submitJob(req) {
    return Promise.resolve({ job: { id: "job-1", type: req.type, queue: req.queue || "default" } });
  },
  submitJobs() {
    return Promise.reject(new Error("connect ECONNREFUSED 10.0.0.7:5432 password=hunter2"));
  },
  cancelJob(req) {
    return Promise.reject(new ConnectError(`job ${req.id} not found`, Code.NotFound));
  },
};

export const schedulerRegistration: ServiceRegistration = { service: SchedulerService, impl: schedulerImpl };

/**
 * `kittest.v1.StreamService`, a test-only service with one server-streaming method, built from
 * a descriptor here because no TaskFlow RPC streams: `Count(n)` sends 0..n-1.
 */
type StreamServiceDesc = GenService<{
  count: { methodKind: "server_streaming"; input: typeof Int32ValueSchema; output: typeof Int32ValueSchema };
}>;

export const StreamService: StreamServiceDesc = (() => {
  const proto = create(FileDescriptorProtoSchema, {
    name: "kittest/v1/stream.proto",
    package: "kittest.v1",
    syntax: "proto3",
    dependency: ["google/protobuf/wrappers.proto"],
    service: [
      {
        name: "StreamService",
        method: [
          {
            name: "Count",
            inputType: ".google.protobuf.Int32Value",
            outputType: ".google.protobuf.Int32Value",
            serverStreaming: true,
          },
        ],
      },
    ],
  });
  const registry = createFileRegistry(proto, (name) =>
    name === file_google_protobuf_wrappers.proto.name ? file_google_protobuf_wrappers : undefined,
  );
  const service = registry.getService("kittest.v1.StreamService");
  if (service === undefined) throw new Error("test descriptor lacks StreamService");
  return service as StreamServiceDesc;
})();

/** Each transport a TaskFlow client may use: every protocol, on every HTTP version it runs on. */
export function allTransports(baseUrl: string): { name: string; transport: Transport; close: () => void }[] {
  const h2 = () => new Http2SessionManager(baseUrl);
  const withSession = (name: string, make: (m: Http2SessionManager) => Transport) => {
    const manager = h2();
    return { name, transport: make(manager), close: () => manager.abort() };
  };
  const plain = (name: string, transport: Transport) => ({ name, transport, close: () => undefined });
  return [
    plain("connect over HTTP/1.1", createConnectTransport({ baseUrl, httpVersion: "1.1" })),
    withSession("connect over h2c", (sessionManager) => createConnectTransport({ baseUrl, httpVersion: "2", sessionManager })),
    withSession("grpc over h2c", (sessionManager) => createGrpcTransport({ baseUrl, sessionManager })),
    plain("grpc-web over HTTP/1.1", createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })),
    withSession("grpc-web over h2c", (sessionManager) => createGrpcWebTransport({ baseUrl, httpVersion: "2", sessionManager })),
  ];
}

/** `items` as the async iterable a client-streaming or bidi call sends. */
// eslint-disable-next-line @typescript-eslint/require-await -- async * makes an async iterable; nothing to await
export async function* streamOf<T>(items: readonly T[]): AsyncIterable<T> {
  yield* items;
}

