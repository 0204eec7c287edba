import { execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { eventually, spawnTestStack, type TestStack } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const buf = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));
const run = promisify(execFile);

let stack: TestStack;
beforeAll(async () => {
  stack = await spawnTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const protocols = [
  { name: "grpc", args: ["--protocol", "grpc", "--http2-prior-knowledge"] },
  { name: "connect", args: ["--protocol", "connect"] },
  { name: "grpcweb", args: ["--protocol", "grpcweb"] },
];

/** `buf curl` with no schema: the services' reflection tells it the messages. */
async function curl(args: string[], url: string, body: unknown): Promise<any> {
  const { stdout } = await run(buf, ["curl", ...args, "-d", JSON.stringify(body), url], { timeout: 20_000 });
  return JSON.parse(stdout);
}

describe.each(protocols)("buf curl over $name", ({ args }) => {
  it("submits a job, then finds it completed with its audit trail in history", async () => {
    const submitted = await curl(args, `${stack.schedulerUrl}/taskflow.v1.SchedulerService/SubmitJob`, {
      type: "echo",
      payload: { hello: "world" },
    });
    expect(submitted.job).toMatchObject({ type: "echo", status: "JOB_STATUS_PENDING" });
    let job: any;
    for (let i = 0; i < 100 && job?.status !== "JOB_STATUS_COMPLETED"; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      job = (await curl(args, `${stack.historyUrl}/taskflow.v1.HistoryService/GetJob`, { id: submitted.job.id })).job;
    }
    expect(job).toMatchObject({ status: "JOB_STATUS_COMPLETED", result: { hello: "world" }, attempts: 1 });
    const trail = await curl(args, `${stack.historyUrl}/taskflow.v1.HistoryService/ListJobEvents`, { jobId: job.id });
    expect(trail.events.map((e: any) => e.type)).toEqual([
      "JOB_EVENT_TYPE_SUBMITTED",
      "JOB_EVENT_TYPE_STARTED",
      "JOB_EVENT_TYPE_COMPLETED",
    ]);
  });

  it("follows WatchJobs: a sleep job's progress streams until the watch is cancelled", async () => {
    // A process group of its own: the buf shim runs the binary as a child, and both must stop.
    const watch = spawn(buf, ["curl", ...args, "-d", JSON.stringify({ types: ["sleep"] }), `${stack.historyUrl}/taskflow.v1.HistoryService/WatchJobs`], {
      detached: true,
    });
    let out = "";
    watch.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const ended = new Promise<void>((resolve) => watch.once("close", () => resolve()));
    try {
      // The first message is empty: the watch is live.
      await eventually(() => Promise.resolve(out.includes("{") ? true : undefined));
      const submitted = await curl(args, `${stack.schedulerUrl}/taskflow.v1.SchedulerService/SubmitJob`, {
        type: "sleep",
        queue: "default",
        payload: { ms: 2_500 },
      });
      const id: string = submitted.job.id;
      await eventually(() => Promise.resolve(out.includes(id) && out.includes('"percent": 40') ? true : undefined), 15_000);
      expect(out).toContain('"slept_ms": 1000');
    } finally {
      process.kill(-watch.pid!, "SIGTERM");
      await ended;
    }
  });

  it("gets a clear invalid_argument for a bad submit", async () => {
    const failed = run(buf, ["curl", ...args, "-d", '{"type":"no spaces allowed"}', `${stack.schedulerUrl}/taskflow.v1.SchedulerService/SubmitJob`], {
      timeout: 20_000,
    });
    await expect(failed).rejects.toMatchObject({ stderr: expect.stringContaining("invalid_argument") });
  });
});
