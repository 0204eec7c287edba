import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createTaskFlowClient, type ClientProtocol, type TlsCredentials } from "@taskflow/client";
import { HistoryService, JobEventType, JobStatus } from "@taskflow/proto";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { codeOf, eventually, makeTestCertificates, uniqueQueue, type TestCertificates } from "@taskflow/testkit";
import { createWorker } from "@taskflow/worker-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const token = (): string => randomBytes(18).toString("base64url");
const SUBMITTER = token();
const WORKER = token();
const SERVICE = token();

let dir: string;
let certs: TestCertificates;
let stack: InProcessStack;
let ca: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "taskflow-tls-"));
  certs = await makeTestCertificates(dir);
  ca = await certs.read(certs.caFile);
  await writeFile(join(dir, "tokens"), `${SUBMITTER} submitter,reader billing\n${WORKER} worker fleet\n${SERVICE} service scheduler\n`);
  await writeFile(join(dir, "scheduler-token"), SERVICE);
  const listener = {
    TLS_CERT_FILE: certs.serverCertFile,
    TLS_KEY_FILE: certs.serverKeyFile,
    TLS_CLIENT_CA_FILE: certs.caFile,
    AUTH_TOKENS_FILE: join(dir, "tokens"),
  };
  // The scheduler calls history's internal listener over TLS, trusting the test CA.
  stack = await startInProcessStack(
    { ...listener, HISTORY_TOKEN_FILE: join(dir, "scheduler-token"), HISTORY_CA_FILE: certs.caFile },
    { historyEnv: listener },
  );
});

afterAll(async () => {
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("every listener over TLS", () => {
  it("serves https urls", () => {
    expect([stack.schedulerUrl, stack.historyUrl, stack.historyInternalUrl].map((u) => new URL(u).protocol)).toEqual(["https:", "https:", "https:"]);
  });

  it.each<ClientProtocol>(["connect", "grpc", "connect-http1", "grpc-web"])("submits and reads over %s, HTTP/2 or HTTP/1.1 by ALPN", async (protocol) => {
    const client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, protocol, token: SUBMITTER, tls: { ca } });
    try {
      const job = await client.submit({ type: "held", queue: uniqueQueue(), delayMs: 60_000, payload: { protocol } });
      // The scheduler wrote it to history through the internal listener, over TLS too.
      expect((await client.get(job.id)).status).toBe(JobStatus.PENDING);
    } finally {
      await client.close();
    }
  });

  it("refuses a client that does not trust the certificate, and one that speaks cleartext", async () => {
    const untrusting = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, token: SUBMITTER });
    const cleartext = createClient(HistoryService, createConnectTransport({ baseUrl: stack.historyUrl.replace("https:", "http:"), httpVersion: "2" }));
    try {
      const refused = await untrusting.submit({ type: "held", queue: uniqueQueue() }).catch((e: unknown) => ConnectError.from(e));
      expect(refused).toBeInstanceOf(ConnectError);
      expect((refused as ConnectError).message).toMatch(/certificate/i);
      const plain = await codeOf(cleartext.getJob({ id: "0" }, { headers: { authorization: `Bearer ${SUBMITTER}` }, timeoutMs: 5_000 }));
      expect([undefined, Code.InvalidArgument, Code.NotFound]).not.toContain(plain);
    } finally {
      await untrusting.close();
    }
  });

  it("runs jobs for a worker that trusts the CA", async () => {
    const queue = uniqueQueue();
    const worker = createWorker({
      scheduler: stack.schedulerUrl,
      token: WORKER,
      tls: { ca },
      queues: [queue],
      handlers: { echo: (ctx) => Promise.resolve(ctx.payload) },
      logger: stack.logger,
    });
    await worker.start();
    const client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, token: SUBMITTER, tls: { ca } });
    try {
      const job = await client.submit({ type: "echo", queue, payload: { over: "tls" } });
      expect((await client.waitFor(job.id, { timeoutMs: 15_000 })).status).toBe(JobStatus.COMPLETED);
    } finally {
      await worker.stop();
      await client.close();
    }
  });
});

describe("mutual TLS", () => {
  const withCertificate = (credentials: TlsCredentials) =>
    createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, tls: { ca, ...credentials } });

  it("takes the identity from a client certificate: CN as the name, O values as roles", async () => {
    const files = await certs.client("payments", ["submitter", "reader"]);
    const client = withCertificate({ cert: await certs.read(files.certFile), key: await certs.read(files.keyFile) });
    try {
      const job = await client.submit({ type: "held", queue: uniqueQueue(), delayMs: 60_000 });
      const events = await eventually(async () => {
        const e = await client.events(job.id);
        return e.length > 0 ? e : undefined;
      });
      expect(events.map((e) => [e.type, e.actor])).toEqual([[JobEventType.SUBMITTED, "api:payments"]]);
    } finally {
      await client.close();
    }
  });

  it("refuses a certificate without the role, and one signed by another CA", async () => {
    const readerFiles = await certs.client("auditor", ["reader"]);
    const reader = withCertificate({ cert: await certs.read(readerFiles.certFile), key: await certs.read(readerFiles.keyFile) });
    const otherDir = await mkdtemp(join(tmpdir(), "taskflow-tls-other-"));
    try {
      expect(await codeOf(reader.submit({ type: "held", queue: uniqueQueue() }))).toBe(Code.PermissionDenied);
      const other = await makeTestCertificates(otherDir, "Another CA");
      const strangerFiles = await other.client("intruder", ["submitter", "admin"]);
      const stranger = withCertificate({ cert: await other.read(strangerFiles.certFile), key: await other.read(strangerFiles.keyFile) });
      try {
        expect(await codeOf(stranger.submit({ type: "held", queue: uniqueQueue() }))).toBe(Code.Unauthenticated);
      } finally {
        await stranger.close();
      }
    } finally {
      await reader.close();
      await rm(otherDir, { recursive: true, force: true });
    }
  });
});

describe("certificate rotation", () => {
  const servedSerial = (url: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const { hostname, port } = new URL(url);
      const socket = tls.connect({ host: hostname, port: Number(port), ca, ALPNProtocols: ["h2"] }, () => {
        resolve(socket.getPeerCertificate().serialNumber);
        socket.end();
      });
      socket.on("error", reject);
    });

  it("serves a renewed certificate to new connections without a restart", async () => {
    const before = await servedSerial(stack.schedulerUrl);
    await certs.renewServer();
    const after = await eventually(async () => {
      const serial = await servedSerial(stack.schedulerUrl);
      return serial !== before ? serial : undefined;
    });
    expect(after).not.toBe(before);
    expect(await servedSerial(stack.historyUrl)).toBe(after);
  });
});
