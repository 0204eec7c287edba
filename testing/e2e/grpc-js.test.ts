import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { spawnTestStack, type TestStack } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
type Callback<T> = (err: grpc.ServiceError | null, res: T) => void;
type UnaryClient = grpc.Client & Record<string, (req: unknown, cb: Callback<any>) => void>;

/** Loads the published .proto files exactly as a caller in any language would. */
function loadServices() {
  const def = protoLoader.loadSync(
    ["taskflow/v1/scheduler.proto", "taskflow/v1/history.proto", "grpc/health/v1/health.proto"],
    { includeDirs: [`${root}proto`, `${root}third_party/proto`], enums: String, longs: String, defaults: true, oneofs: true },
  );
  return grpc.loadPackageDefinition(def) as any;
}

const call = <T>(client: UnaryClient, method: string, req: unknown): Promise<T> =>
  new Promise((resolve, reject) => client[method]!(req, (err, res) => (err ? reject(err) : resolve(res as T))));

let stack: TestStack;
let pkg: any;
let creds: grpc.ChannelCredentials;
let scheduler: UnaryClient;
let history: UnaryClient;
let health: UnaryClient;

beforeAll(async () => {
  stack = await spawnTestStack({ worker: { WORKER_QUEUES: "default,grpcjs" } });
  pkg = loadServices();
  creds = grpc.credentials.createInsecure();
  scheduler = new pkg.taskflow.v1.SchedulerService(addr(stack.schedulerUrl), creds);
  history = new pkg.taskflow.v1.HistoryService(addr(stack.historyUrl), creds);
  health = new pkg.grpc.health.v1.Health(addr(stack.schedulerUrl), creds);
});

afterAll(async () => {
  for (const c of [scheduler, history, health]) c?.close();
  await stack?.stop();
});

const addr = (url: string) => new URL(url).host;

async function waitForStatus(id: string, status: string): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const { job } = await call<{ job: any }>(history, "GetJob", { id });
    if (job.status === status) return job;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} never reached ${status}`);
}

describe("a plain @grpc/grpc-js client built from proto/", () => {
  it("checks health, submits a job and reads it back completed with its result", async () => {
    expect(await call(health, "Check", { service: "taskflow.v1.SchedulerService" })).toEqual({ status: "SERVING" });
    const payload = { fields: { hello: { stringValue: "world" }, n: { numberValue: 3 } } };
    const { job } = await call<{ job: any }>(scheduler, "SubmitJob", { type: "echo", payload });
    expect(job).toMatchObject({ type: "echo", queue: "default", status: "JOB_STATUS_PENDING", maxAttempts: 3 });
    const done = await waitForStatus(job.id, "JOB_STATUS_COMPLETED");
    expect(done.result).toMatchObject({ structValue: { fields: { hello: { stringValue: "world" }, n: { numberValue: 3 } } } });
    expect(done.attempts).toBe(1);
    const { events } = await call<{ events: any[] }>(history, "ListJobEvents", { jobId: job.id });
    expect(events.map((e) => e.type)).toEqual(["JOB_EVENT_TYPE_SUBMITTED", "JOB_EVENT_TYPE_STARTED", "JOB_EVENT_TYPE_COMPLETED"]);
  });

  it("gets INVALID_ARGUMENT for a bad submit and NOT_FOUND for an unknown job", async () => {
    await expect(call(scheduler, "SubmitJob", { type: "" })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(call(history, "GetJob", { id: "01890000-0000-7000-8000-000000000000" })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });

  it("lists jobs filtered by status with a page token", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await call<{ job: any }>(scheduler, "SubmitJob", { type: "echo", queue: "grpcjs" })).job.id);
    for (const id of ids) await waitForStatus(id, "JOB_STATUS_COMPLETED");
    const first = await call<{ jobs: any[]; nextPageToken: string }>(history, "ListJobs", { queues: ["grpcjs"], pageSize: 2 });
    const second = await call<{ jobs: any[]; nextPageToken: string }>(history, "ListJobs", {
      queues: ["grpcjs"],
      pageSize: 2,
      pageToken: first.nextPageToken,
    });
    expect([...first.jobs, ...second.jobs].map((j) => j.id)).toEqual([...ids].reverse());
    expect(second.nextPageToken).toBe("");
  });

  it("pages across history replicas: the other replica honours a page token one signed", async (ctx) => {
    if (stack.histories.length < 2) return ctx.skip("one history replica (TEST_STACK_REPLICAS=1)");
    // Straight to each replica, past the balancer; no worker serves the queue, so nothing moves.
    const [one, other] = stack.histories.map((h) => new pkg.taskflow.v1.HistoryService(addr(h.url), creds) as UnaryClient);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await call<{ job: any }>(scheduler, "SubmitJob", { type: "echo", queue: "replicas" })).job.id);
      const first = await call<{ jobs: any[]; nextPageToken: string }>(one!, "ListJobs", { queues: ["replicas"], pageSize: 2 });
      const second = await call<{ jobs: any[]; nextPageToken: string }>(other!, "ListJobs", {
        queues: ["replicas"],
        pageSize: 2,
        pageToken: first.nextPageToken,
      });
      expect([...first.jobs, ...second.jobs].map((j) => j.id)).toEqual([...ids].reverse());
      expect(second.nextPageToken).toBe("");
    } finally {
      one?.close();
      other?.close();
    }
  });
});
