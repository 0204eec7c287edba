import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createTaskFlowClient, JobStatus, WorkerStatus, jobResult, type TaskFlowClient } from "@taskflow/client";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "@taskflow/proto/gen/grpc/health/v1/health_pb";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { uniqueQueue } from "@taskflow/testkit";
import { pino, type Logger } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";
import { startWorkerService } from "./start-worker-service.js";

let stack: InProcessStack;
let client: TaskFlowClient;
let hook: Server;
let hookUrl: string;
let hookCalls = 0;

beforeAll(async () => {
  stack = await startInProcessStack({ LEASE_MS: "3000" });
  client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
  hook = createServer((_req, res) => {
    hookCalls++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"received":true}');
  });
  await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  hook?.closeAllConnections();
  await new Promise((resolve) => hook?.close(resolve));
  await client?.close();
  await stack?.close();
});

function serviceConfig(schedulerUrl: string, queue: string, env: Record<string, string> = {}) {
  return loadConfig({
    SCHEDULER_URL: schedulerUrl,
    WORKER_ID: `svc-${queue}`,
    WORKER_QUEUES: queue,
    WORKER_PORT: "0",
    SHUTDOWN_GRACE_MS: "1000",
    ...env,
  });
}

/** The webhook receiver listens on loopback, which the http handler calls only when allowed. */
const httpOn = { HTTP_HANDLER_ENABLED: "true", HTTP_HANDLER_ALLOW: "127.0.0.1/32" };

/** A logger that keeps its info lines, parsed. */
function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

async function healthOf(url: string): Promise<ServingStatus> {
  const health = createClient(Health, createGrpcTransport({ baseUrl: url }));
  return (await health.check({ service: "" })).status;
}

describe("startWorkerService", () => {
  it("runs the built-in handlers and serves gRPC health", async () => {
    const queue = uniqueQueue();
    const { logger, lines } = capturingLogger();
    const service = await startWorkerService(serviceConfig(stack.schedulerUrl, queue, httpOn), { logger });
    expect(lines.find((l) => l["msg"] === "built-in handlers")).toMatchObject({
      handlers: ["echo", "sleep", "fail", "flaky", "http"],
      http_handler: true,
      http_allow: ["127.0.0.1/32"],
    });
    try {
      expect(await healthOf(service.url)).toBe(ServingStatus.SERVING);
      const [echo, sleep, flaky, http] = await client.submitMany([
        { type: "echo", queue, payload: { hello: "world" } },
        { type: "sleep", queue, payload: { ms: 10 } },
        { type: "flaky", queue, payload: { failures: 1 }, maxAttempts: 3 },
        { type: "http", queue, payload: { url: hookUrl, body: { a: 1 } } },
      ]);
      const results = await Promise.all(
        [echo, sleep, flaky, http].map((j) => client.waitFor(j!.id, { timeoutMs: 20_000 })),
      );
      expect(results.map((j) => j.status)).toEqual(Array(4).fill(JobStatus.COMPLETED));
      expect(results.map((j) => jobResult(j))).toMatchObject([
        { hello: "world" },
        { slept_ms: 10 },
        { attempt: 2 },
        { status: 200, body: { received: true } },
      ]);
    } finally {
      await service.close();
    }
    const me = (await client.workers()).find((w) => w.id === `svc-${queue}`);
    expect(me?.status).toBe(WorkerStatus.GONE);
  });

  it("does not lease http jobs while the http handler is off, as it is by default", async () => {
    const queue = uniqueQueue();
    const { logger, lines } = capturingLogger();
    const service = await startWorkerService(serviceConfig(stack.schedulerUrl, queue), { logger });
    expect(lines.find((l) => l["msg"] === "built-in handlers")).toMatchObject({
      handlers: ["echo", "sleep", "fail", "flaky"],
      http_handler: false,
    });
    const callsBefore = hookCalls;
    try {
      expect((await client.worker(`svc-${queue}`)).jobTypes).toEqual(["echo", "sleep", "fail", "flaky"]);
      // Submitted first, so a worker serving http would lease it before the echo job.
      const http = await client.submit({ type: "http", queue, payload: { url: hookUrl } });
      const echo = await client.submit({ type: "echo", queue, payload: {} });
      expect((await client.waitFor(echo.id, { timeoutMs: 20_000 })).status).toBe(JobStatus.COMPLETED);
      expect(await client.get(http.id)).toMatchObject({ status: JobStatus.PENDING, attempts: 0 });
    } finally {
      await service.close();
    }
    expect(hookCalls).toBe(callsBefore);
  });

  it("fails jobs of the fail handler after their attempts", async () => {
    const queue = uniqueQueue();
    const service = await startWorkerService(serviceConfig(stack.schedulerUrl, queue), { logger: stack.logger });
    try {
      const { id } = await client.submit({ type: "fail", queue, payload: { message: "nope" }, maxAttempts: 2 });
      expect(await client.waitFor(id, { timeoutMs: 20_000 })).toMatchObject({
        status: JobStatus.FAILED,
        error: "nope",
        attempts: 2,
      });
    } finally {
      await service.close();
    }
  });

  it("reports NOT_SERVING once its scheduler is gone", async () => {
    const own = await startInProcessStack();
    const service = await startWorkerService(serviceConfig(own.schedulerUrl, uniqueQueue()), { logger: own.logger });
    try {
      expect(await healthOf(service.url)).toBe(ServingStatus.SERVING);
      await own.close();
      expect(await healthOf(service.url)).toBe(ServingStatus.NOT_SERVING);
    } finally {
      await service.close();
      await own.close();
    }
  });
});
