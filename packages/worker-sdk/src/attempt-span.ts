import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { activeTracer, contextOfTraceParent, JOB_SPAN_ATTRIBUTES } from "@taskflow/client";
import type { Job, LeasedJob } from "@taskflow/proto";
import type { JobOutcome } from "./start-job.js";

/** Instrumentation scope of the SDK's spans. */
export const SDK_TRACER_NAME = "@taskflow/worker-sdk";

/** Attributes of an attempt's span. */
export const JOB_ATTRIBUTES = JOB_SPAN_ATTRIBUTES;

/**
 * The span of one attempt, `job <type>`, a child of the span that submitted the job (the lease's
 * `trace_parent`; a new trace when it has none). Undefined when the application registered no
 * tracer provider: then nothing is created and the attempt runs as it would untraced.
 */
export function startAttemptSpan(leased: LeasedJob, job: Job): Span | undefined {
  const tracer = activeTracer(SDK_TRACER_NAME);
  if (tracer === undefined) return undefined;
  return tracer.startSpan(
    `job ${job.type}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        [JOB_ATTRIBUTES.id]: job.id,
        [JOB_ATTRIBUTES.type]: job.type,
        [JOB_ATTRIBUTES.queue]: job.queue,
        [JOB_ATTRIBUTES.attempt]: job.attempts,
      },
    },
    // The job's own trace, not the lease stream's that happened to deliver it.
    contextOfTraceParent(leased.traceParent),
  );
}

/** Runs `fn` with `span` active (so the handler's logs and calls join the job's trace); plain `fn()` without a span. */
export function runInAttemptSpan<T>(span: Span | undefined, fn: () => T): T {
  return span === undefined ? fn() : context.with(trace.setSpan(ROOT_CONTEXT, span), fn);
}

/**
 * Ends the attempt's span with its outcome (`taskflow.job.outcome`): an error status for a
 * failure (the handler's error, a timeout, a cancel) and for a lost lease; a release at shutdown
 * is no error.
 */
export function endAttemptSpan(span: Span, outcome: JobOutcome): void {
  span.setAttribute("taskflow.job.outcome", outcome.kind);
  if (outcome.kind === "failed") span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error });
  if (outcome.kind === "lost") span.setStatus({ code: SpanStatusCode.ERROR, message: "lease lost" });
  span.end();
}
