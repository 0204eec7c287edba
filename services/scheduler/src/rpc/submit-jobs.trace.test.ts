import { context, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../../test/stack.js";
import { queueKeys } from "../redis/keys.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER = { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` };

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
  trace.disable();
  context.disable();
});

const hashOf = (queue: string, id: string): string => queueKeys(s.config.redisKeyPrefix, queue).job(id);

describe("SubmitJob's trace parent", () => {
  it("is not written when tracing is off, whatever the caller sends", async () => {
    const { job } = await s.scheduler.submitJob({ type: "echo", queue: "untraced" }, { headers: CALLER });
    expect(await s.redis.hexists(hashOf("untraced", job!.id), "traceparent")).toBe(0);
    const { jobs } = await s.worker.leaseJobs({ workerId: "w1", queues: ["untraced"], maxJobs: 1 });
    expect(jobs[0]?.traceParent).toBe("");
  });

  it("is the SubmitJob span's once a tracer provider is registered, and comes back with the lease", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    provider.register();
    try {
      const { job } = await s.scheduler.submitJob({ type: "echo", queue: "traced" }, { headers: CALLER });
      const submit = exporter.getFinishedSpans().find((sp) => sp.name === "taskflow.v1.SchedulerService/SubmitJob");
      expect(submit?.spanContext().traceId).toBe(TRACE_ID);
      const expected = `00-${TRACE_ID}-${submit!.spanContext().spanId}-01`;
      expect(await s.redis.hget(hashOf("traced", job!.id), "traceparent")).toBe(expected);
      const { jobs } = await s.worker.leaseJobs({ workerId: "w1", queues: ["traced"], maxJobs: 1 });
      expect(jobs[0]?.traceParent).toBe(expected);
      const dispatch = exporter.getFinishedSpans().find((sp) => sp.name === "dispatch");
      expect(dispatch?.parentSpanContext?.spanId).toBe(submit!.spanContext().spanId);
    } finally {
      await provider.shutdown();
    }
  });
});
