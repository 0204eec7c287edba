import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createTaskFlowClient, type TaskFlowClient } from "@taskflow/client";
import { HistoryService, QueueService, WorkerService } from "@taskflow/proto";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { freePort, makeTestCertificates } from "@taskflow/testkit";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DashboardConfig } from "./config.js";
import { startDashboardServer, type DashboardServer } from "./dashboard-server.js";

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const INDEX_HTML = '<!doctype html><html lang="en"><title>TaskFlow</title><div id="root"></div></html>\n';
const ASSET = "/assets/main-3f2a1b.js";

let dir: string;
/** Built pages of our own: an index.html and one hashed asset. */
let appDir: string;
const closers: (() => Promise<unknown>)[] = [];

/** Starts a dashboard on port 0 in front of these upstreams; closed after the file. */
async function startDashboard(upstreams: Pick<DashboardConfig, "schedulerUrl" | "historyUrl">): Promise<DashboardServer> {
  const config = { host: "127.0.0.1", port: 0, schedulerCaFile: "", historyCaFile: "", logLevel: "silent", tls: { certFile: "", keyFile: "" }, ...upstreams };
  const dashboard = await startDashboardServer(config, appDir, pino({ level: "silent" }));
  closers.push(() => dashboard.close());
  return dashboard;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const rejection = (p: Promise<unknown>): Promise<ConnectError> =>
  p.then(
    () => Promise.reject(new Error("expected the call to fail")),
    (err: unknown) => ConnectError.from(err),
  );

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "taskflow-dashboard-server-"));
  closers.push(() => rm(dir, { recursive: true, force: true }));
  appDir = join(dir, "app");
  await mkdir(join(appDir, "assets"), { recursive: true });
  await writeFile(join(appDir, "index.html"), INDEX_HTML);
  await writeFile(join(appDir, ASSET), "console.log('dashboard');\n");
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

describe("forwarding to a stack with authentication on", () => {
  const tokens = { reader: "", admin: "", worker: "" };
  let stack: InProcessStack;
  let dashboard: DashboardServer;
  let admin: TaskFlowClient;
  let queues: ReturnType<typeof createClient<typeof QueueService>>;
  let history: ReturnType<typeof createClient<typeof HistoryService>>;

  beforeAll(async () => {
    const tok = (): string => randomBytes(18).toString("base64url");
    Object.assign(tokens, { reader: tok(), admin: tok(), worker: tok() });
    const service = tok();
    const lines = [`${tokens.reader} reader viewer`, `${tokens.admin} admin,submitter,reader ops`, `${tokens.worker} worker fleet`, `${service} service scheduler`];
    await writeFile(join(dir, "tokens"), `${lines.join("\n")}\n`);
    await writeFile(join(dir, "scheduler-token"), `${service}\n`);
    const auth = { AUTH_TOKENS_FILE: join(dir, "tokens") };
    stack = await startInProcessStack({ ...auth, HISTORY_TOKEN_FILE: join(dir, "scheduler-token") }, { historyEnv: auth });
    closers.push(() => stack.close());
    admin = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, token: tokens.admin });
    closers.push(() => admin.close());
    dashboard = await startDashboard({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
    const transport = createConnectTransport({ httpVersion: "1.1", baseUrl: dashboard.url });
    queues = createClient(QueueService, transport);
    history = createClient(HistoryService, transport);
  });

  it("passes the caller's token to the scheduler and adds none of its own", async () => {
    expect((await rejection(queues.listQueues({}))).code).toBe(Code.Unauthenticated);
    const answer = await queues.listQueues({}, { headers: bearer(tokens.reader) });
    expect(Array.isArray(answer.queues)).toBe(true);
    // The scheduler sees the reader, by the name its tokens file gives it.
    const refused = await rejection(queues.pauseQueue({ name: "default" }, { headers: bearer(tokens.reader) }));
    expect(refused.code).toBe(Code.PermissionDenied);
    expect(refused.rawMessage).toBe("viewer may not call taskflow.v1.QueueService/PauseQueue: it needs the role admin");
  });

  it("passes the caller's token to history", async () => {
    const job = await admin.submit({ type: "echo", queue: "dash-history", payload: { n: 1 } });
    expect((await rejection(history.getJob({ id: job.id }))).code).toBe(Code.Unauthenticated);
    const answer = await history.getJob({ id: job.id }, { headers: bearer(tokens.reader) });
    expect(answer.job?.id).toBe(job.id);
    expect(answer.job?.queue).toBe("dash-history");
  });

  it("streams HistoryService.WatchJobs through as history sends it", async () => {
    const abort = new AbortController();
    const stream = history.watchJobs({ queues: ["dash-watch"] }, { headers: bearer(tokens.reader), signal: abort.signal });
    const messages = stream[Symbol.asyncIterator]();
    try {
      // The first message is empty: the watch is live.
      expect((await messages.next()).value?.jobs).toEqual([]);
      const job = await admin.submit({ type: "echo", queue: "dash-watch" });
      let seen: string[] = [];
      while (!seen.includes(job.id)) {
        const next = await messages.next();
        if (next.done === true) throw new Error("the watch ended");
        seen = next.value.jobs.map((j) => j.id);
      }
    } finally {
      abort.abort();
    }
    const unauthenticated = history.watchJobs({}, {})[Symbol.asyncIterator]().next();
    expect((await rejection(unauthenticated)).code).toBe(Code.Unauthenticated);
  });

  it("refuses the workers' RPCs with not_found, even with a worker token", async () => {
    const workers = createClient(WorkerService, createConnectTransport({ httpVersion: "1.1", baseUrl: dashboard.url }));
    const refused = await rejection(workers.leaseJobs({ workerId: "w", queues: ["default"], maxJobs: 1 }, { headers: bearer(tokens.worker) }));
    expect(refused.code).toBe(Code.NotFound);
    expect(refused.rawMessage).toBe("/taskflow.v1.WorkerService/LeaseJobs is not served to browsers");
  });
});

/** An upstream that answers every request with `{}` and counts what reached it. */
async function startRecorder(): Promise<{ url: string; paths: string[] }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(`${req.method ?? ""} ${req.url ?? ""}`);
    req.resume().on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths };
}

describe("what the dashboard answers itself", () => {
  let dashboard: DashboardServer;
  let upstream: { url: string; paths: string[] };
  const post = (path: string) =>
    fetch(`${dashboard.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });

  beforeAll(async () => {
    upstream = await startRecorder();
    dashboard = await startDashboard({ schedulerUrl: upstream.url, historyUrl: upstream.url });
  });

  it("answers /healthz", async () => {
    const res = await fetch(`${dashboard.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok\n");
  });

  it.each(["/taskflow.v1.WorkerService/LeaseJobs", "/taskflow.v1.HistoryIngestService/InsertJobs", "/grpc.health.v1.Health/Check"])(
    "answers %s with not_found and never forwards it",
    async (path) => {
      const res = await post(path);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ code: "not_found", message: `${path} is not served to browsers` });
      expect(upstream.paths.filter((p) => p.endsWith(path))).toEqual([]);
    },
  );

  it("refuses an RPC by GET, and forwards the same RPC by POST", async () => {
    const res = await fetch(`${dashboard.url}/taskflow.v1.QueueService/ListQueues?encoding=json&message=%7B%7D`);
    expect(res.status).toBe(405);
    expect(await res.json()).toEqual({ code: "unimplemented", message: "RPCs take POST" });
    const reached = () => upstream.paths.filter((p) => p.includes("/taskflow.v1.QueueService/ListQueues"));
    expect(reached()).toEqual([]);
    expect((await post("/taskflow.v1.QueueService/ListQueues")).status).toBe(200);
    expect(reached()).toEqual(["POST /taskflow.v1.QueueService/ListQueues"]);
  });

  it("serves index.html, revalidated, for every page path", async () => {
    for (const path of ["/", "/jobs", "/jobs/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "/queues/emails?tab=limits"]) {
      const res = await fetch(`${dashboard.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toMatch(/^text\/html/);
      expect(res.headers.get("cache-control"), path).toBe("no-cache");
      expect(await res.text(), path).toBe(INDEX_HTML);
    }
  });

  it("serves hashed assets as immutable, and a missing file as 404 rather than the page", async () => {
    const asset = await fetch(`${dashboard.url}${ASSET}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await asset.text()).toBe("console.log('dashboard');\n");
    expect((await fetch(`${dashboard.url}/assets/main-000000.js`)).status).toBe(404);
  });

  it("refuses writes to pages", async () => {
    const res = await fetch(`${dashboard.url}/jobs`, { method: "POST", body: "x" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });

  it("puts its policy headers on every answer, its own and forwarded ones", async () => {
    const answers = await Promise.all([
      fetch(`${dashboard.url}/healthz`),
      fetch(`${dashboard.url}/`),
      fetch(`${dashboard.url}/jobs`),
      fetch(`${dashboard.url}${ASSET}`),
      fetch(`${dashboard.url}/assets/missing.js`),
      fetch(`${dashboard.url}/taskflow.v1.QueueService/ListQueues`),
      fetch(`${dashboard.url}/jobs`, { method: "DELETE" }),
      post("/taskflow.v1.WorkerService/LeaseJobs"),
      post("/taskflow.v1.HistoryService/GetStats"),
    ]);
    for (const res of answers) {
      const where = `${res.status} ${res.url}`;
      expect(res.headers.get("content-security-policy"), where).toBe(CSP);
      expect(res.headers.get("x-content-type-options"), where).toBe("nosniff");
      expect(res.headers.get("referrer-policy"), where).toBe("no-referrer");
      expect(res.headers.get("x-frame-options"), where).toBe("DENY");
    }
  });
});

describe("an unreachable service", () => {
  let dashboard: DashboardServer;

  beforeAll(async () => {
    // Free ports nobody listens on: every connection is refused.
    const [scheduler, historyPort] = [await freePort(), await freePort()];
    dashboard = await startDashboard({ schedulerUrl: `http://127.0.0.1:${scheduler}`, historyUrl: `http://127.0.0.1:${historyPort}` });
  });

  it("gives the browser a Connect unavailable error naming the service", async () => {
    const transport = createConnectTransport({ httpVersion: "1.1", baseUrl: dashboard.url });
    const scheduler = await rejection(createClient(QueueService, transport).listQueues({}));
    expect(scheduler.code).toBe(Code.Unavailable);
    expect(scheduler.rawMessage).toMatch(/^the dashboard cannot reach the scheduler \(http:\/\/127\.0\.0\.1:\d+\)$/);
    const history = await rejection(createClient(HistoryService, transport).getStats({}));
    expect(history.code).toBe(Code.Unavailable);
    expect(history.rawMessage).toMatch(/^the dashboard cannot reach the history \(http:\/\/127\.0\.0\.1:\d+\)$/);

    const res = await fetch(`${dashboard.url}/taskflow.v1.QueueService/ListQueues`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("content-security-policy")).toBe(CSP);
    expect(await res.json()).toMatchObject({ code: "unavailable" });
  });
});

describe("serving HTTPS", () => {
  it("serves its pages and forwards calls over TLS with the certificate of TLS_CERT_FILE", async () => {
    const certs = await makeTestCertificates(await mkdtemp(join(tmpdir(), "taskflow-dashboard-tls-")));
    closers.push(() => rm(certs.dir, { recursive: true, force: true }));
    const dashboard = await startDashboardServer(
      {
        host: "127.0.0.1",
        port: 0,
        schedulerUrl: "http://127.0.0.1:9",
        historyUrl: "http://127.0.0.1:9",
        schedulerCaFile: "",
        historyCaFile: "",
        logLevel: "silent",
        tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile },
      },
      appDir,
      pino({ level: "silent" }),
    );
    closers.push(() => dashboard.close());
    expect(dashboard.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = await certs.read(certs.caFile);
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        https
          .get(`${dashboard.url}${path}`, { ca }, (res) => {
            let body = "";
            res.on("data", (c: Buffer) => (body += c.toString()));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          })
          .on("error", reject);
      });
    expect(await get("/healthz")).toEqual({ status: 200, body: "ok\n" });
    expect((await get("/jobs")).body).toBe(INDEX_HTML);
    // A client that does not trust the CA gets no page.
    await expect(fetch(`${dashboard.url}/healthz`)).rejects.toThrow();
  });
});
