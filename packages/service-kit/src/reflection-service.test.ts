import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ServerReflection as V1 } from "@taskflow/proto/gen/grpc/reflection/v1/reflection_pb";
import { ServerReflection as V1Alpha } from "@taskflow/proto/gen/grpc/reflection/v1alpha/reflection_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureLogs, schedulerRegistration, streamOf, StreamService } from "../test/support.js";
import type { ReflectionQuery } from "./reflection-index.js";
import { startServer, type RunningServer } from "./start-server.js";

const buf = fileURLToPath(new URL("../../../node_modules/.bin/buf", import.meta.url));
let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    host: "127.0.0.1",
    port: 0,
    services: [schedulerRegistration, { service: StreamService, impl: {} }],
    logger: captureLogs().logger,
  });
});
afterAll(() => server.close());

/** Sends `queries` on one v1 reflection stream and returns the answers in order. */
async function ask(...queries: ReflectionQuery[]) {
  const client = createClient(V1, createGrpcTransport({ baseUrl: server.url }));
  const answers = [];
  for await (const res of client.serverReflectionInfo(streamOf(queries.map((messageRequest) => ({ host: "h", messageRequest }))))) {
    answers.push(res);
  }
  return answers;
}

function fileNames(answer: Awaited<ReturnType<typeof ask>>[number] | undefined): string[] {
  if (answer?.messageResponse.case !== "fileDescriptorResponse") return [];
  return answer.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

const SERVED = [
  "taskflow.v1.SchedulerService",
  "kittest.v1.StreamService",
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];

describe("server reflection", () => {
  it("lists every served service, its own included", async () => {
    const [answer] = await ask({ case: "listServices", value: "" });
    expect(answer?.messageResponse).toMatchObject({ case: "listServicesResponse" });
    const names = answer?.messageResponse.case === "listServicesResponse" ? answer.messageResponse.value.service.map((s) => s.name) : [];
    expect(names).toEqual(SERVED);
    expect(answer?.validHost).toBe("h");
  });

  it("answers a service, method or message name with its file first, then every file it imports", async () => {
    const answers = await ask(
      { case: "fileContainingSymbol", value: "taskflow.v1.SchedulerService" },
      { case: "fileContainingSymbol", value: "taskflow.v1.SchedulerService.SubmitJob" },
      { case: "fileContainingSymbol", value: "taskflow.v1.Job" },
    );
    const scheduler = fileNames(answers[0]);
    expect(scheduler[0]).toBe("taskflow/v1/scheduler.proto");
    expect(scheduler).toEqual(expect.arrayContaining(["taskflow/v1/job.proto", "google/protobuf/struct.proto", "google/protobuf/timestamp.proto"]));
    expect(new Set(scheduler).size).toBe(scheduler.length);
    expect(fileNames(answers[1])).toEqual(scheduler);
    expect(fileNames(answers[2])[0]).toBe("taskflow/v1/job.proto");
  });

  it("answers a file name, for a service built outside generated code too", async () => {
    const [answer] = await ask({ case: "fileByFilename", value: "kittest/v1/stream.proto" });
    expect(fileNames(answer)).toEqual(["kittest/v1/stream.proto", "google/protobuf/wrappers.proto"]);
  });

  it("answers NOT_FOUND in the stream for names it does not know, and keeps answering", async () => {
    const answers = await ask(
      { case: "fileContainingSymbol", value: "taskflow.v1.Nope" },
      { case: "fileByFilename", value: "nope.proto" },
      { case: "fileContainingExtension", value: { containingType: "taskflow.v1.Job", extensionNumber: 1000 } },
      { case: "listServices", value: "" },
    );
    expect(answers.slice(0, 3).map((a) => a.messageResponse.case === "errorResponse" && a.messageResponse.value.errorCode)).toEqual([
      Code.NotFound,
      Code.NotFound,
      Code.NotFound,
    ]);
    expect(answers[3]?.messageResponse.case).toBe("listServicesResponse");
  });

  it("lists the extension numbers of a known message (none in TaskFlow)", async () => {
    const [answer] = await ask({ case: "allExtensionNumbersOfType", value: "taskflow.v1.Job" });
    expect(answer?.messageResponse).toMatchObject({
      case: "allExtensionNumbersResponse",
      value: { baseTypeName: "taskflow.v1.Job", extensionNumber: [] },
    });
  });

  it("answers v1alpha the same way", async () => {
    const client = createClient(V1Alpha, createGrpcTransport({ baseUrl: server.url }));
    const answers = [];
    for await (const res of client.serverReflectionInfo(streamOf([{ messageRequest: { case: "listServices" as const, value: "" } }]))) answers.push(res);
    expect(answers[0]?.messageResponse.case).toBe("listServicesResponse");
  });

  it("lets buf curl discover and call a method with no local schema", async () => {
    const run = promisify(execFile);
    const listed = await run(buf, ["curl", "--http2-prior-knowledge", "--list-methods", server.url]);
    expect(listed.stdout.split("\n")).toContain("taskflow.v1.SchedulerService/SubmitJob");
    for (const protocol of ["grpc", "connect", "grpcweb"]) {
      const called = await run(buf, [
        "curl",
        "--http2-prior-knowledge",
        "--protocol",
        protocol,
        "-d",
        '{"type":"email.send"}',
        `${server.url}/taskflow.v1.SchedulerService/SubmitJob`,
      ]);
      expect({ protocol, job: JSON.parse(called.stdout).job }).toEqual({
        protocol,
        job: { id: "job-1", type: "email.send", queue: "default" },
      });
    }
  });
});
