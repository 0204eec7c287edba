import { create, toBinary, type JsonObject } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { HistoryService, SchedulerService, SubmitJobRequestSchema } from "@taskflow/proto";
import { rejection } from "@taskflow/test-helpers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawCall } from "@taskflow/test-helpers";
import { captureLogs, schedulerRegistration } from "../test/support.js";
import { startServer, type RunningServer } from "./start-server.js";

const SUBMIT = "/taskflow.v1.SchedulerService/SubmitJob";
const LIST_JOBS = "/taskflow.v1.HistoryService/ListJobs";
const protocols = ["connect", "grpc"] as const;

/** A payload whose objects nest `depth` deep: {"a":{"a":...}}. */
function nested(depth: number): JsonObject {
  let v: JsonObject = {};
  for (let i = 1; i < depth; i++) v = { a: v };
  return v;
}

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({
    host: "127.0.0.1",
    port: 0,
    logger: captureLogs().logger,
    services: [schedulerRegistration, { service: HistoryService, impl: { listJobs: () => Promise.resolve({}) } }],
  });
});
afterAll(async () => {
  await server?.close();
});

describe("a request body that does not decode", () => {
  // SubmitJobRequest field 1 (type), length-delimited: "a", 0xff, "b" is not UTF-8.
  const badUtf8 = Uint8Array.of(0x0a, 0x03, 0x61, 0xff, 0x62);
  // Field 1 claims 5 bytes and carries 1.
  const cutShort = Uint8Array.of(0x0a, 0x05, 0x61);
  const tooDeep = toBinary(SubmitJobRequestSchema, create(SubmitJobRequestSchema, { type: "x", payload: nested(80) }));

  it.each(protocols)("is invalid_argument, not internal, over %s", async (protocol) => {
    for (const [what, body] of [
      ["invalid UTF-8", badUtf8],
      ["cut short", cutShort],
      ["nested past the recursion limit", tooDeep],
    ] as const) {
      const answer = await rawCall(server.url, SUBMIT, { protocol, codec: "proto", body });
      expect({ what, code: answer.code, parse: answer.message.startsWith("parse binary:") }).toEqual({
        what,
        code: "invalid_argument",
        parse: true,
      });
    }
    const json = await rawCall(server.url, SUBMIT, { protocol, codec: "json", body: '{"type":' });
    expect(json.code).toBe("invalid_argument");
  });

  it("leaves a well-formed binary request alone", async () => {
    const body = toBinary(SubmitJobRequestSchema, create(SubmitJobRequestSchema, { type: "fine" }));
    for (const protocol of protocols) {
      expect((await rawCall(server.url, SUBMIT, { protocol, codec: "proto", body })).code).toBe("ok");
    }
  });
});

describe("enum values in JSON", () => {
  it.each(protocols)("refuses an enum name the contract lacks over %s", async (protocol) => {
    const answer = await rawCall(server.url, LIST_JOBS, {
      protocol,
      codec: "json",
      body: '{"statuses":["JOB_STATUS_PENDING","JOB_STATUS_EXPLODED"]}',
    });
    expect(answer.code).toBe("invalid_argument");
    expect(answer.message).toContain("JOB_STATUS_EXPLODED");
  });

  it.each(protocols)("accepts the enum names the contract has over %s", async (protocol) => {
    const body = '{"statuses":["JOB_STATUS_PENDING","JOB_STATUS_FAILED"]}';
    expect((await rawCall(server.url, LIST_JOBS, { protocol, codec: "json", body })).code).toBe("ok");
  });
});

describe("the default read limit", () => {
  it("refuses a 5 MiB message with ResourceExhausted over Connect and gRPC", async () => {
    const big = { type: "big", idempotencyKey: "k".repeat(5 * 1024 * 1024) };
    const sessions = new Http2SessionManager(server.url);
    try {
      for (const transport of [
        createConnectTransport({ baseUrl: server.url, httpVersion: "2", sessionManager: sessions }),
        createGrpcTransport({ baseUrl: server.url, sessionManager: sessions }),
      ]) {
        const err = await rejection(createClient(SchedulerService, transport).submitJob(big));
        expect(err.code).toBe(Code.ResourceExhausted);
      }
    } finally {
      sessions.abort();
    }
  });
});
