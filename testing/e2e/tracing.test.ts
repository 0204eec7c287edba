import { Writable } from "node:stream";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { createTaskFlowClient, JobStatus, type TaskFlowClient } from "@taskflow/client";
import { createLogger } from "@taskflow/service-kit";
import { startInProcessStack, type InProcessStack } from "@taskflow/test-stack";
import { eventually, uniqueQueue } from "@taskflow/testkit";
import { createWorker, PermanentError, type Worker } from "@taskflow/worker-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// One provider for the whole process, as an application registers it: history, the scheduler,
// the worker SDK and the client below all run here and report to this exporter.
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();

const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString("utf8").split("\n")) if (line !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

let stack: InProcessStack;
let client: TaskFlowClient;
let worker: Worker;
const queue = uniqueQueue();

beforeAll(async () => {
  stack = await startInProcessStack({}, { logger: createLogger({ name: "tracing-test", level: "debug" }, sink) });
  client = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
  worker = createWorker({
    scheduler: stack.schedulerUrl,
    queues: [queue],
    logger: stack.logger,
    handlers: {
      echo: (ctx) => Promise.resolve(ctx.payload),
      refuse: () => Promise.reject(new PermanentError("refused on purpose")),
    },
  });
  await worker.start();
});

afterAll(async () => {
  await worker?.stop();
  await client?.close();
  await stack?.close();
  await provider.shutdown();
});

/** Submits one job inside a span of the caller's own; resolves to the job id and that span. */
async function submitTraced(type: string): Promise<{ jobId: string; caller: ReadableSpan }> {
  const span = trace.getTracer("test-caller").startSpan("caller");
  const job = await context.with(trace.setSpan(context.active(), span), () => client.submit({ type, queue, payload: { n: 1 } }));
  span.end();
  const caller = exporter.getFinishedSpans().find((s) => s.spanContext().spanId === span.spanContext().spanId)!;
  return { jobId: job.id, caller };
}

const spansOf = (traceId: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
const parentOf = (s: ReadableSpan | undefined): string | undefined => s?.parentSpanContext?.spanId;
const idOf = (s: ReadableSpan | undefined): string | undefined => s?.spanContext().spanId;

describe("one trace follows a job", () => {
  it("joins the submit, the dispatch, the attempt and history's record of the job", async () => {
    const { jobId, caller } = await submitTraced("echo");
    const traceId = caller.spanContext().traceId;
    expect((await client.waitFor(jobId, { timeoutMs: 20_000 })).status).toBe(JobStatus.COMPLETED);
    // The COMPLETED event reaches history after the answer the client waited for: wait for its span.
    const append = await eventually(async () =>
      Promise.resolve(spansOf(traceId).filter((s) => s.name === "taskflow.v1.HistoryIngestService/AppendEvents").at(-1)),
    );
    const spans = spansOf(traceId);
    const submit = spans.find((s) => s.name === "taskflow.v1.SchedulerService/SubmitJob");
    const dispatch = spans.find((s) => s.name === "dispatch");
    const attempt = spans.find((s) => s.name === "job echo");
    const forward = spans.find((s) => idOf(s) === parentOf(append));

    expect(submit?.kind).toBe(SpanKind.SERVER);
    expect(parentOf(submit)).toBe(idOf(caller));
    expect(dispatch?.attributes).toMatchObject({ "taskflow.job.id": jobId, "taskflow.job.attempt": 1, "taskflow.worker.id": worker.id });
    expect(parentOf(dispatch)).toBe(idOf(submit));
    expect(attempt?.kind).toBe(SpanKind.CONSUMER);
    expect(attempt?.attributes).toMatchObject({ "taskflow.job.id": jobId, "taskflow.job.attempt": 1, "taskflow.job.type": "echo" });
    expect(parentOf(attempt)).toBe(idOf(submit));
    expect(attempt?.status.code).toBe(SpanStatusCode.UNSET);
    expect(forward?.name).toBe("forward events");
    expect(forward?.attributes["taskflow.job.id"]).toBe(jobId);
    expect(parentOf(forward)).toBe(idOf(submit));
    expect(append.kind).toBe(SpanKind.SERVER);
    // History's insert of the job runs under the submit too.
    expect(parentOf(spans.find((s) => s.name === "taskflow.v1.HistoryIngestService/InsertJobs"))).toBe(idOf(submit));
  });

  it("records a handler's error on the attempt's span", async () => {
    const { jobId, caller } = await submitTraced("refuse");
    expect((await client.waitFor(jobId, { timeoutMs: 20_000 })).status).toBe(JobStatus.FAILED);
    const attempt = await eventually(async () => Promise.resolve(spansOf(caller.spanContext().traceId).find((s) => s.name === "job refuse")));
    expect(attempt.status).toMatchObject({ code: SpanStatusCode.ERROR, message: "refused on purpose" });
    expect(attempt.events.find((e) => e.name === "exception")?.attributes?.["exception.message"]).toBe("refused on purpose");
  });

  it("writes the trace and span ids and the procedure on the lines logged while handling a call", async () => {
    const { caller } = await submitTraced("echo");
    const traceId = caller.spanContext().traceId;
    const submit = spansOf(traceId).find((s) => s.name === "taskflow.v1.SchedulerService/SubmitJob");
    const line = lines.find((l) => l.msg === "rpc finished" && l.trace_id === traceId && l.procedure === "taskflow.v1.SchedulerService/SubmitJob");
    expect(line?.span_id).toBe(idOf(submit));
  });
});
