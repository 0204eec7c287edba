import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { createTaskFlowClient, type TaskFlowClient } from "@taskflow/client";
import {
  AdminService,
  HistoryAdminService,
  HistoryIngestService,
  HistoryService,
  JobEventType,
  JobStatus,
  QueueService,
  ScheduleService,
  SchedulerService,
  WorkerService,
} from "@taskflow/proto";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { codeOf, eventually, uniqueQueue } from "@taskflow/testkit";
import { createWorker } from "@taskflow/worker-sdk";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** One token per role, and the scheduler's own for history's internal listener. */
const token = (): string => randomBytes(18).toString("base64url");
const T = {
  submitter: token(),
  payroll: token(),
  fleetB: token(),
  worker: token(),
  reader: token(),
  admin: token(),
  service: token(),
};
const ISSUER = "https://issuer.test";
const AUDIENCE = "taskflow";

let dir: string;
let tokensFile: string;
let stack: InProcessStack;
let signer: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

const tokensText = (extra = ""): string =>
  [
    "# role tokens of the auth tests",
    `${T.submitter} submitter billing`,
    `${T.payroll} submitter payroll`,
    `${T.fleetB} worker fleet-b`,
    `${T.worker} worker fleet-a`,
    `${T.reader} reader auditor # trailing comment`,
    `${T.admin} admin ops`,
    `${T.service} service scheduler`,
    extra,
  ].join("\n");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "taskflow-auth-"));
  tokensFile = join(dir, "tokens");
  await writeFile(tokensFile, tokensText());
  await writeFile(join(dir, "scheduler-token"), `${T.service}\n`);
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  signer = privateKey;
  await writeFile(join(dir, "jwks.json"), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] }));
  const auth = {
    AUTH_TOKENS_FILE: tokensFile,
    AUTH_JWKS_FILE: join(dir, "jwks.json"),
    AUTH_JWT_ISSUER: ISSUER,
    AUTH_JWT_AUDIENCE: AUDIENCE,
  };
  stack = await startInProcessStack({ ...auth, HISTORY_TOKEN_FILE: join(dir, "scheduler-token") }, { historyEnv: auth });
});

afterAll(async () => {
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

/** What auth lets through answers with the handler's own verdict; only these two codes are auth's. */
const passed = (code: Code | undefined): boolean => code !== Code.Unauthenticated && code !== Code.PermissionDenied;

type Who = Exclude<keyof typeof T, "payroll" | "fleetB"> | "none" | "forged";
const headersOf = (who: Who): Record<string, string> =>
  who === "none" ? {} : { authorization: `Bearer ${who === "forged" ? token() : T[who]}` };

/** Reads a stream's first message and leaves it (a watch never ends by itself). */
async function firstOf<T>(stream: AsyncIterable<T>): Promise<T | undefined> {
  for await (const m of stream) return m;
  return undefined;
}

/** A representative call of every RPC group, on the listener that serves it, with the roles that may make it. */
const GROUPS: { name: string; allowed: Who[]; call: (t: { pub: Transport; sched: Transport; internal: Transport }, h: Record<string, string>) => Promise<unknown> }[] = [
  { name: "SchedulerService/SubmitJob", allowed: ["submitter"], call: (t, headers) => createClient(SchedulerService, t.sched).submitJob({ type: "" }, { headers }) },
  { name: "SchedulerService/CancelJob", allowed: ["submitter", "admin"], call: (t, headers) => createClient(SchedulerService, t.sched).cancelJob({ id: "0" }, { headers }) },
  { name: "SchedulerService/RetryJob", allowed: ["admin"], call: (t, headers) => createClient(SchedulerService, t.sched).retryJob({ id: "0" }, { headers }) },
  { name: "SchedulerService/RetryJobs", allowed: ["admin"], call: (t, headers) => createClient(SchedulerService, t.sched).retryJobs({ limit: -1 }, { headers }) },
  { name: "WorkerService/Heartbeat", allowed: ["worker"], call: (t, headers) => createClient(WorkerService, t.sched).heartbeat({ workerId: "" }, { headers }) },
  { name: "QueueService/GetQueue", allowed: ["reader", "admin"], call: (t, headers) => createClient(QueueService, t.sched).getQueue({ name: "" }, { headers }) },
  { name: "QueueService/PauseQueue", allowed: ["admin"], call: (t, headers) => createClient(QueueService, t.sched).pauseQueue({ name: "" }, { headers }) },
  { name: "QueueService/SetQueueLimits", allowed: ["admin"], call: (t, headers) => createClient(QueueService, t.sched).setQueueLimits({ name: "" }, { headers }) },
  { name: "ScheduleService/GetSchedule", allowed: ["reader", "admin"], call: (t, headers) => createClient(ScheduleService, t.sched).getSchedule({ id: "" }, { headers }) },
  { name: "ScheduleService/CreateSchedule", allowed: ["admin"], call: (t, headers) => createClient(ScheduleService, t.sched).createSchedule({}, { headers }) },
  { name: "ScheduleService/TriggerSchedule", allowed: ["admin"], call: (t, headers) => createClient(ScheduleService, t.sched).triggerSchedule({ id: "" }, { headers }) },
  { name: "AdminService/ListParkedEvents", allowed: ["admin"], call: (t, headers) => createClient(AdminService, t.sched).listParkedEvents({ queue: "" }, { headers }) },
  { name: "HistoryService/GetJob", allowed: ["reader"], call: (t, headers) => createClient(HistoryService, t.pub).getJob({ id: "0" }, { headers }) },
  { name: "HistoryService/WatchJobs (stream)", allowed: ["reader"], call: (t, headers) => firstOf(createClient(HistoryService, t.pub).watchJobs({}, { headers })) },
  { name: "HistoryAdminService/GetDatabaseStats", allowed: ["admin"], call: (t, headers) => createClient(HistoryAdminService, t.pub).getDatabaseStats({}, { headers }) },
  { name: "HistoryIngestService/ReopenJobs (internal)", allowed: ["service"], call: (t, headers) => createClient(HistoryIngestService, t.internal).reopenJobs({ ids: [] }, { headers }) },
  { name: "HistoryIngestService/GetJobStates (internal)", allowed: ["service"], call: (t, headers) => createClient(HistoryIngestService, t.internal).getJobStates({ ids: [] }, { headers }) },
  { name: "HistoryIngestService/RecordProgress (internal)", allowed: ["service"], call: (t, headers) => createClient(HistoryIngestService, t.internal).recordProgress({ updates: [] }, { headers }) },
];
const WHO: Who[] = ["submitter", "worker", "reader", "admin", "service", "none", "forged"];

describe.each([
  ["connect", createConnectTransport],
  ["grpc", createGrpcTransport],
] as const)("every role against every RPC group over %s", (_protocol, make) => {
  const transports = () => ({
    pub: make({ baseUrl: stack.historyUrl, httpVersion: "2" }),
    sched: make({ baseUrl: stack.schedulerUrl, httpVersion: "2" }),
    internal: make({ baseUrl: stack.historyInternalUrl, httpVersion: "2" }),
  });

  it.each(GROUPS.map((g) => [g.name, g] as const))("%s", async (_name, group) => {
    const t = transports();
    const got = await Promise.all(WHO.map(async (who) => [who, await codeOf(group.call(t, headersOf(who)))] as const));
    for (const [who, code] of got) {
      if (who === "none" || who === "forged") expect([who, code]).toEqual([who, Code.Unauthenticated]);
      else if (group.allowed.includes(who)) expect([who, passed(code)]).toEqual([who, true]);
      else expect([who, code]).toEqual([who, Code.PermissionDenied]);
    }
  });
});

describe("health and reflection", () => {
  it("answer without credentials", async () => {
    const res = await fetch(`${stack.schedulerUrl}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(await res.json()).toEqual({ status: "SERVING" });
  });
});

describe("history's public port", () => {
  it("does not serve the ingest service: a forged AppendEvents, even with every role, changes nothing", async () => {
    const client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, token: T.submitter });
    const reader = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, token: T.reader });
    try {
      const job = await client.submit({ type: "held", queue: uniqueQueue(), delayMs: 60_000 });
      const forged = {
        events: [{ jobId: job.id, seq: 2, type: "COMPLETED", status: "COMPLETED", attempt: 1, actor: "api:someone-else", occurredAt: new Date().toISOString(), result: { forged: true } }],
      };
      for (const who of ["service", "admin", "submitter"] as const) {
        const res = await fetch(`${stack.historyUrl}/taskflow.v1.HistoryIngestService/AppendEvents`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${T[who]}` },
          body: JSON.stringify(forged),
        });
        expect([who, res.status]).toEqual([who, 404]);
      }
      const after = await reader.get(job.id);
      expect(after.status).toBe(JobStatus.PENDING);
      expect((await reader.events(job.id)).map((e) => e.type)).toEqual([JobEventType.SUBMITTED]);
    } finally {
      await client.close();
      await reader.close();
    }
  });
});

describe("audit actors come from the verified identity", () => {
  let submitter: TaskFlowClient;
  let reader: TaskFlowClient;
  beforeAll(() => {
    submitter = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, token: T.submitter, headers: { "x-taskflow-caller": "someone-else" } });
    reader = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, token: T.reader });
  });
  afterAll(async () => {
    await submitter.close();
    await reader.close();
  });

  it("records api:<name> for submits and cancels, whatever headers the caller sets", async () => {
    const admin = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, token: () => T.admin });
    try {
      const job = await submitter.submit({ type: "held", queue: uniqueQueue(), delayMs: 60_000 });
      await admin.cancel(job.id, "not needed");
      const events = await eventually(async () => {
        const e = await reader.events(job.id);
        expect(e).toHaveLength(2);
        return e;
      });
      expect(events.map((e) => [e.type, e.actor])).toEqual([
        [JobEventType.SUBMITTED, "api:billing"],
        [JobEventType.CANCELLED, "api:ops"],
      ]);
    } finally {
      await admin.close();
    }
  });

  it("records worker:<name> for what a worker with a token does", async () => {
    const queue = uniqueQueue();
    const worker = createWorker({
      scheduler: stack.schedulerUrl,
      token: T.worker,
      workerId: "claims-to-be-someone-else",
      queues: [queue],
      handlers: { echo: (ctx) => Promise.resolve(ctx.payload) },
      logger: stack.logger,
    });
    await worker.start();
    try {
      const job = await submitter.submit({ type: "echo", queue, payload: { n: 1 } });
      await reader.waitFor(job.id, { timeoutMs: 15_000 });
      const events = await eventually(async () => {
        const e = await reader.events(job.id);
        expect(e).toHaveLength(3);
        return e;
      });
      expect(events.map((e) => [e.type, e.actor, e.workerId])).toEqual([
        [JobEventType.SUBMITTED, "api:billing", ""],
        [JobEventType.STARTED, "worker:fleet-a", "claims-to-be-someone-else"],
        [JobEventType.COMPLETED, "worker:fleet-a", "claims-to-be-someone-else"],
      ]);
      // Reads show a digest of the lease token, never the token a report would need.
      expect(events[1]!.leaseId).toMatch(/^[0-9a-f]{24}$/);
    } finally {
      await worker.stop();
    }
  });

  it("a worker without a token is refused", async () => {
    const worker = createWorker({ scheduler: stack.schedulerUrl, queues: [uniqueQueue()], handlers: { echo: () => Promise.resolve(null) }, logger: stack.logger });
    const code = await codeOf(worker.start());
    await worker.stop().catch(() => undefined);
    expect(code).toBe(Code.Unauthenticated);
  });
});

describe("idempotency keys are scoped per identity", () => {
  it("gives each caller its own job for one key, and a caller's retry its first job", async () => {
    const billing = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, token: T.submitter });
    const payroll = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, token: T.payroll });
    try {
      const queue = uniqueQueue();
      const input = { type: "held", queue, delayMs: 60_000, idempotencyKey: "invoice-42" };
      const first = await billing.submit(input);
      const again = await billing.submit(input);
      // Another caller's job under the same key: neither found nor refused as a reuse.
      const other = await payroll.submit({ ...input, payload: { different: true } });
      expect(again.id).toBe(first.id);
      expect(other.id).not.toBe(first.id);
      expect(other.idempotencyKey).toBe("invoice-42");
    } finally {
      await billing.close();
      await payroll.close();
    }
  });
});

describe("worker ids belong to the identity that registered them", () => {
  it("refuses another worker identity's register, heartbeat and deregister of the id, until its owner lets it go", async () => {
    const worker = createClient(WorkerService, createConnectTransport({ baseUrl: stack.schedulerUrl, httpVersion: "2" }));
    const as = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
    const workerId = `shared-${uniqueQueue()}`;
    const registration = { workerId, queues: [uniqueQueue()], jobTypes: ["echo"], concurrency: 1 };
    await worker.registerWorker(registration, as(T.worker));
    expect(await codeOf(worker.registerWorker(registration, as(T.fleetB)))).toBe(Code.PermissionDenied);
    expect(await codeOf(worker.heartbeat({ workerId }, as(T.fleetB)))).toBe(Code.PermissionDenied);
    expect(await codeOf(worker.deregisterWorker({ workerId }, as(T.fleetB)))).toBe(Code.PermissionDenied);
    expect(await codeOf(worker.heartbeat({ workerId }, as(T.worker)))).toBeUndefined();
    expect(await codeOf(worker.deregisterWorker({ workerId }, as(T.worker)))).toBeUndefined();
    expect(await codeOf(worker.registerWorker(registration, as(T.fleetB)))).toBeUndefined();
  });
});

describe("token rotation", () => {
  it("takes a token added to the file and drops one removed, without a restart", async () => {
    const fresh = token();
    const client = () => createClient(HistoryService, createConnectTransport({ baseUrl: stack.historyUrl, httpVersion: "2" }));
    const getJob = (t: string) => codeOf(client().getJob({ id: "0" }, { headers: { authorization: `Bearer ${t}` } }));
    expect(await getJob(fresh)).toBe(Code.Unauthenticated);
    await writeFile(tokensFile, tokensText(`${fresh} reader rotated`));
    await eventually(async () => (await getJob(fresh)) === Code.InvalidArgument || undefined);
    await writeFile(tokensFile, tokensText().replace(`${T.reader} reader auditor`, ""));
    await eventually(async () => (await getJob(T.reader)) === Code.Unauthenticated || undefined);
    // A bad edit keeps what the file held before: nobody is locked out by a typo.
    await writeFile(tokensFile, "not a valid line at all\n");
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await getJob(fresh)).toBe(Code.Unauthenticated);
    expect(await codeOf(client().getJob({ id: "0" }, { headers: { authorization: `Bearer ${T.admin}` } }))).toBe(Code.PermissionDenied);
    await writeFile(tokensFile, tokensText());
    await eventually(async () => (await getJob(T.reader)) === Code.InvalidArgument || undefined);
  });
});

describe("JWTs signed by a key of the JWKS file", () => {
  const jwt = (claims: Record<string, unknown>, opts: { audience?: string; expiresIn?: string } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer(ISSUER)
      .setAudience(opts.audience ?? AUDIENCE)
      .setSubject("jwt-user")
      .setIssuedAt()
      .setExpirationTime(opts.expiresIn ?? "5m")
      .sign(signer);

  it("names the caller by sub and grants the roles of the roles claim", async () => {
    const client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, token: await jwt({ roles: ["submitter", "reader"] }) });
    try {
      const job = await client.submit({ type: "held", queue: uniqueQueue(), delayMs: 60_000 });
      expect((await client.events(job.id))[0]?.actor).toBe("api:jwt-user");
      expect(await codeOf(client.databaseStats())).toBe(Code.PermissionDenied);
    } finally {
      await client.close();
    }
  });

  it("refuses another audience, an expired token and a token signed by another key", async () => {
    const { privateKey } = await generateKeyPair("ES256");
    const stranger = await new SignJWT({ roles: ["reader"] }).setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject("x").setExpirationTime("5m").sign(privateKey);
    const tokens = [await jwt({ roles: ["reader"] }, { audience: "another-service" }), await jwt({ roles: ["reader"] }, { expiresIn: "-1m" }), stranger];
    const history = createClient(HistoryService, createConnectTransport({ baseUrl: stack.historyUrl, httpVersion: "2" }));
    for (const t of tokens) {
      expect(await codeOf(history.getJob({ id: "0" }, { headers: { authorization: `Bearer ${t}` } }))).toBe(Code.Unauthenticated);
    }
  });
});
