import { durationMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { JobEventType, JobStatus, WorkerStatus } from "@taskflow/proto";
import { eventually } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../../test/stack.js";
import { queueKeys } from "../redis/keys.js";

let s: Stack;
beforeAll(async () => {
  s = await startStack({ env: { LEASE_MS: "9000" } });
});
afterAll(async () => {
  await s.close();
});

const workerRow = async (id: string) => (await s.history.listWorkers({ pageSize: 500 })).workers.find((w) => w.id === id);

describe("worker registration and presence", () => {
  it("registers a worker in history and tells it the lease and heartbeat periods", async () => {
    const res = await s.worker.registerWorker({
      workerId: "host-1", queues: ["reg"], jobTypes: ["t.a", "t.b"], concurrency: 4, hostname: "host", metadata: { zone: "a" },
    });
    expect(res.workerId).toBe("host-1");
    expect(durationMs(res.leaseDuration!)).toBe(9_000);
    expect(durationMs(res.heartbeatInterval!)).toBe(3_000);
    expect(await workerRow("host-1")).toMatchObject({
      status: WorkerStatus.HEALTHY, queues: ["reg"], jobTypes: ["t.a", "t.b"], concurrency: 4, hostname: "host", metadata: { zone: "a" },
    });
  });

  it("picks an id when the worker sends none", async () => {
    const res = await s.worker.registerWorker({ queues: ["reg"] });
    expect(res.workerId).toMatch(/^worker-/);
  });

  it("keeps the registration and records the held jobs on each heartbeat", async () => {
    await s.worker.registerWorker({ workerId: "host-2", queues: ["beat"], jobTypes: ["t.a"], concurrency: 2 });
    const { job } = await s.scheduler.submitJob({ type: "t.a", queue: "beat" });
    const { jobs } = await s.worker.leaseJobs({ workerId: "host-2", queues: ["beat"], maxJobs: 1 });
    await s.worker.heartbeat({ workerId: "host-2", leases: [{ jobId: job!.id, queue: "beat", leaseToken: jobs[0]!.leaseToken }] });
    // Presence reaches history in the background, after the heartbeat answered.
    await eventually(async () => ((await workerRow("host-2"))?.currentJobIds.includes(job!.id) ? true : undefined));
    expect(await workerRow("host-2")).toMatchObject({ queues: ["beat"], jobTypes: ["t.a"], currentJobIds: [job!.id] });
  });

  it("releases jobs unrun on graceful shutdown and marks the worker gone", async () => {
    await s.worker.registerWorker({ workerId: "host-3", queues: ["rel"] });
    const { job } = await s.scheduler.submitJob({ type: "t.a", queue: "rel" });
    const { jobs } = await s.worker.leaseJobs({ workerId: "host-3", queues: ["rel"], maxJobs: 1 });
    const lease = { jobId: job!.id, queue: "rel", leaseToken: jobs[0]!.leaseToken };
    expect((await s.worker.releaseJobs({ workerId: "host-3", leases: [lease] })).released).toBe(1);
    expect((await s.worker.releaseJobs({ workerId: "host-3", leases: [lease] })).released).toBe(0);
    expect(await s.redis.zscore(queueKeys(s.config.redisKeyPrefix, "rel").ready("t.a"), job!.id)).not.toBeNull();
    await s.worker.deregisterWorker({ workerId: "host-3" });
    expect((await workerRow("host-3"))!.status).toBe(WorkerStatus.GONE);

    const events = await eventually(async () => {
      const { events } = await s.history.listJobEvents({ jobId: job!.id });
      return events.length === 3 ? events : undefined;
    });
    expect(events[2]).toMatchObject({ type: JobEventType.RELEASED, status: JobStatus.PENDING });
    const again = await s.worker.leaseJobs({ workerId: "host-4", queues: ["rel"], maxJobs: 1 });
    expect(again.jobs[0]!.job!.attempts).toBe(1);
  });

  it("refuses bad registrations", async () => {
    const code = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => ConnectError.from(e).code);
    expect(await code(s.worker.registerWorker({ workerId: "a b", queues: ["q"] }))).toBe(Code.InvalidArgument);
    expect(await code(s.worker.registerWorker({ workerId: "ok", queues: [] }))).toBe(Code.InvalidArgument);
    expect(await code(s.worker.registerWorker({ workerId: "ok", queues: ["q"], jobTypes: [""] }))).toBe(Code.InvalidArgument);
  });
});

describe("registration checks", () => {
  it.each([
    ["a hostname with NUL", { hostname: "h\u0000" }, "hostname"],
    ["a hostname of 256 characters", { hostname: "h".repeat(256) }, "hostname"],
    ["a metadata value with NUL", { metadata: { zone: "a\u0000" } }, 'metadata["zone"]'],
    ["a metadata key with NUL", { metadata: { "z\u0000": "a" } }, "metadata"],
    ["an empty metadata key", { metadata: { "": "a" } }, 'metadata[""] key'],
    ["65 metadata entries", { metadata: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"])) }, "metadata"],
  ])("refuses %s before saving anything", async (_what, init, field) => {
    const workerId = `bad-${Math.random().toString(36).slice(2)}`;
    const err = ConnectError.from(await s.worker.registerWorker({ workerId, queues: ["reg"], ...init }).catch((e: unknown) => e));
    expect([err.code, err.rawMessage.startsWith(`${field}`)]).toEqual([Code.InvalidArgument, true]);
    expect(await s.redis.exists(`${s.config.redisKeyPrefix}:worker:${workerId}`)).toBe(0);
    expect(await workerRow(workerId)).toBeUndefined();
  });
});
