import type { JsonObject } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createTaskFlowClient, JobEventType, JobStatus, type TaskFlowClient } from "@taskflow/client";
import { SchedulerService } from "@taskflow/proto";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { eventually, rejection, uniqueQueue } from "@taskflow/testkit";
import { loadConfig, startWorkerService, type RunningWorkerService } from "@taskflow/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const SLOTS = 4;
let stack: InProcessStack;
let worker: RunningWorkerService;
let client: TaskFlowClient;
const queue = uniqueQueue();

beforeAll(async () => {
  stack = await startInProcessStack();
  client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
  const config = loadConfig({
    SCHEDULER_URL: stack.schedulerUrl,
    WORKER_ID: "metrics-worker",
    WORKER_QUEUES: queue,
    WORKER_CONCURRENCY: String(SLOTS),
    WORKER_PORT: "0",
    SHUTDOWN_GRACE_MS: "1000",
  });
  worker = await startWorkerService(config, { logger: stack.logger });
});

afterAll(async () => {
  await worker?.close();
  await client?.close();
  await stack?.close();
});

/** One scrape of a service's `GET /metrics` over HTTP/1.1, as Prometheus makes it. */
async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of the sample `line` (name and labels as printed), or undefined when the series is absent. */
function sample(text: string, line: string): number | undefined {
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

const job = (type: string, payload: JsonObject, maxAttempts = 3) => ({ type, queue, payload, maxAttempts });

describe("metrics of the three services after a known workload", () => {
  it("count submits, outcomes, RPCs by code, ingest batches and handler runs exactly", async () => {
    // 20 jobs in 4 calls: 16 that complete, 3 that fail on their only attempt, 1 that fails once and then completes.
    const batches = [
      [...Array.from({ length: 4 }, (_, i) => job("echo", { i })), job("fail", {}, 1)],
      [...Array.from({ length: 4 }, (_, i) => job("echo", { i })), job("fail", {}, 1)],
      [...Array.from({ length: 4 }, (_, i) => job("echo", { i })), job("fail", {}, 1)],
      [...Array.from({ length: 4 }, (_, i) => job("echo", { i })), job("flaky", { failures: 1 })],
    ];
    const scheduler = createClient(SchedulerService, createGrpcTransport({ baseUrl: stack.schedulerUrl }));
    const ids: string[] = [];
    for (const jobs of batches) ids.push(...(await scheduler.submitJobs({ jobs })).jobs.map((j) => j.id));
    expect(ids).toHaveLength(20);
    const bad = await rejection(scheduler.submitJobs({ jobs: [{ type: "", queue }] }));
    expect(bad.code).toBe(Code.InvalidArgument);

    // Every job ended in history, and the outbox holds nothing more for it.
    const jobs = await eventually(async () => {
      const all = await Promise.all(ids.map((id) => client.get(id)));
      return all.every((j) => j.status === JobStatus.COMPLETED || j.status === JobStatus.FAILED) ? all : undefined;
    }, 30_000);
    expect(jobs.filter((j) => j.status === JobStatus.COMPLETED)).toHaveLength(17);
    const q = `queue="${queue}"`;
    const schedulerText = await eventually(async () => {
      const text = await scrape(stack.schedulerUrl);
      return sample(text, `taskflow_outbox_entries{${q}}`) === 0 ? text : undefined;
    });

    expect({
      submitted: sample(schedulerText, `taskflow_jobs_submitted_total{${q}}`),
      started: sample(schedulerText, `taskflow_jobs_started_total{${q}}`),
      completed: sample(schedulerText, `taskflow_jobs_completed_total{${q}}`),
      failed: sample(schedulerText, `taskflow_jobs_failed_total{${q}}`),
      retried: sample(schedulerText, `taskflow_jobs_retried_total{${q}}`),
      expired: sample(schedulerText, `taskflow_jobs_expired_total{${q}}`),
      ready: sample(schedulerText, `taskflow_queue_jobs{${q},state="ready"}`),
      delayed: sample(schedulerText, `taskflow_queue_jobs{${q},state="delayed"}`),
      leased: sample(schedulerText, `taskflow_queue_jobs{${q},state="leased"}`),
      oldestReadyAge: sample(schedulerText, `taskflow_queue_oldest_ready_age_seconds{${q}}`),
      outboxAge: sample(schedulerText, `taskflow_outbox_oldest_age_seconds{${q}}`),
      statsUp: sample(schedulerText, "taskflow_queue_stats_up"),
    }).toEqual({
      submitted: 20, started: 21, completed: 17, failed: 3, retried: 1, expired: undefined,
      ready: 0, delayed: 0, leased: 0, oldestReadyAge: 0, outboxAge: 0, statsUp: 1,
    });
    const submitJobs = 'grpc_type="unary",grpc_service="taskflow.v1.SchedulerService",grpc_method="SubmitJobs"';
    expect(sample(schedulerText, `grpc_server_started_total{${submitJobs}}`)).toBe(5);
    expect(sample(schedulerText, `grpc_server_handled_total{${submitJobs},grpc_code="OK"}`)).toBe(4);
    expect(sample(schedulerText, `grpc_server_handled_total{${submitJobs},grpc_code="InvalidArgument"}`)).toBe(1);
    expect(sample(schedulerText, `grpc_server_handling_seconds_count{${submitJobs}}`)).toBe(5);
    // The worker's stream is counted by the scheduler too, by its own type; its reports went on
    // the stream (counted in the outcomes above), so no ReportJobs call was made.
    expect(schedulerText).toMatch(/grpc_server_started_total\{grpc_type="bidi_stream",grpc_service="taskflow.v1.WorkerService",grpc_method="DispatchJobs"\} [1-9]/);
    expect(sample(schedulerText, 'grpc_server_started_total{grpc_type="unary",grpc_service="taskflow.v1.WorkerService",grpc_method="ReportJobs"}')).toBeUndefined();
    expect(schedulerText).toContain("# TYPE nodejs_eventloop_lag_seconds gauge");

    // History: every job inserted once, every later transition appended once.
    const events = (await Promise.all(ids.map((id) => client.events(id)))).flat();
    const appended = events.filter((e) => e.type !== JobEventType.SUBMITTED).length;
    const historyText = await scrape(stack.historyUrl);
    const insertJobs = 'grpc_type="unary",grpc_service="taskflow.v1.HistoryIngestService",grpc_method="InsertJobs"';
    expect(sample(historyText, 'taskflow_history_ingest_batch_size_sum{method="InsertJobs"}')).toBe(20);
    expect(sample(historyText, 'taskflow_history_ingest_batch_size_count{method="InsertJobs"}')).toBe(
      sample(historyText, `grpc_server_handled_total{${insertJobs},grpc_code="OK"}`),
    );
    expect(sample(historyText, 'taskflow_history_ingest_batch_size_sum{method="AppendEvents"}')).toBe(appended);
    expect(sample(historyText, 'taskflow_history_ingest_seconds_count{method="AppendEvents"}')).toBe(
      sample(historyText, 'taskflow_history_ingest_batch_size_count{method="AppendEvents"}'),
    );
    expect(sample(historyText, 'taskflow_pg_pool_connections{pool="primary",state="total"}') ?? 0).toBeGreaterThan(0);
    expect(sample(historyText, 'taskflow_pg_pool_connections{pool="primary",state="waiting"}')).toBe(0);

    // The worker: its slots, none busy now, and each handler run by type and outcome.
    const workerText = await scrape(worker.url);
    expect({
      slots: sample(workerText, "taskflow_worker_slots"),
      busy: sample(workerText, "taskflow_worker_slots_busy"),
      echo: sample(workerText, 'taskflow_worker_handler_seconds_count{type="echo",outcome="completed"}'),
      fail: sample(workerText, 'taskflow_worker_handler_seconds_count{type="fail",outcome="failed"}'),
      flakyFailed: sample(workerText, 'taskflow_worker_handler_seconds_count{type="flaky",outcome="failed"}'),
      flakyCompleted: sample(workerText, 'taskflow_worker_handler_seconds_count{type="flaky",outcome="completed"}'),
    }).toEqual({ slots: SLOTS, busy: 0, echo: 16, fail: 3, flakyFailed: 1, flakyCompleted: 1 });
    expect(workerText).toContain("# TYPE process_cpu_seconds_total counter");
  }, 60_000);
});
