import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Link, type Span } from "@opentelemetry/api";
import { activeTracer, JOB_SPAN_ATTRIBUTES as JOB, parseTraceParent } from "@taskflow/service-kit";
import type { OutboxEntry } from "./redis/outbox.js";
import type { LeasedRecord } from "./redis/queue-store.js";

/** Instrumentation scope of the scheduler's own spans (its RPC spans are the kit's). */
export const SCHEDULER_TRACER_NAME = "@taskflow/scheduler";

/** Attributes of the scheduler's job spans. */
export const JOB_SPAN_ATTRIBUTES = Object.freeze({
  ...JOB,
  workerId: "taskflow.worker.id",
  events: "taskflow.outbox.events",
});

/** Most other jobs' traces one forwarded batch links to (the SDK keeps 128 links by default). */
export const MAX_FORWARD_LINKS = 100;

/**
 * A `dispatch` span per leased job whose submit was traced: a child of the submit's span (its
 * `traceparent` in the job hash), from when the lease began (`startedMs`, ms since the epoch)
 * to now, so the job's trace shows when and to whom it was handed. Nothing when no tracer
 * provider is registered or the job carries no trace.
 */
export function traceDispatch(leased: readonly LeasedRecord[], workerId: string, startedMs: number): void {
  const tracer = activeTracer(SCHEDULER_TRACER_NAME);
  if (tracer === undefined) return;
  for (const r of leased) {
    const parent = parseTraceParent(r.traceParent);
    if (parent === undefined) continue;
    const span = tracer.startSpan(
      "dispatch",
      {
        kind: SpanKind.PRODUCER,
        startTime: startedMs,
        attributes: {
          [JOB_SPAN_ATTRIBUTES.id]: r.id,
          [JOB_SPAN_ATTRIBUTES.type]: r.type,
          [JOB_SPAN_ATTRIBUTES.queue]: r.queue,
          [JOB_SPAN_ATTRIBUTES.attempt]: r.attempts,
          [JOB_SPAN_ATTRIBUTES.workerId]: workerId,
        },
      },
      trace.setSpanContext(ROOT_CONTEXT, parent),
    );
    span.end();
  }
}

/**
 * Runs `forward` (the call to history for a batch of outbox entries) inside a `forward events`
 * span when any entry belongs to a traced job: a child of the first such job's submit span, and
 * linked to the other jobs' submit spans (up to {@link MAX_FORWARD_LINKS}), since one batched
 * call serves many traces and a span has one parent. History's AppendEvents span is then that
 * first job's too. The trace parent comes with the entry (the scripts copy it from the job
 * hash), so this costs no Redis call; with tracing off, `forward` runs as it is.
 */
export async function traceForward<T>(queue: string, entries: readonly OutboxEntry[], forward: () => Promise<T>): Promise<T> {
  const tracer = activeTracer(SCHEDULER_TRACER_NAME);
  if (tracer === undefined) return forward();
  const parents = distinctParents(entries);
  if (parents.length === 0) return forward();
  const [first, ...others] = parents;
  const span = tracer.startSpan(
    "forward events",
    {
      kind: SpanKind.CLIENT,
      attributes: { [JOB_SPAN_ATTRIBUTES.queue]: queue, [JOB_SPAN_ATTRIBUTES.events]: entries.length, [JOB_SPAN_ATTRIBUTES.id]: first!.jobId },
      links: others.slice(0, MAX_FORWARD_LINKS).map((p): Link => ({ context: p.context, attributes: { [JOB_SPAN_ATTRIBUTES.id]: p.jobId } })),
    },
    trace.setSpanContext(ROOT_CONTEXT, first!.context),
  );
  try {
    return await context.with(trace.setSpan(ROOT_CONTEXT, span), forward);
  } catch (err) {
    fail(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** The submit span of each traced job among `entries`, once per job, in entry order. */
function distinctParents(entries: readonly OutboxEntry[]): { jobId: string; context: NonNullable<ReturnType<typeof parseTraceParent>> }[] {
  const seen = new Set<string>();
  const out = [];
  for (const e of entries) {
    const tp = e.fields?.traceparent;
    if (tp === undefined || seen.has(tp)) continue;
    seen.add(tp);
    const sc = parseTraceParent(tp);
    if (sc !== undefined) out.push({ jobId: e.fields?.job ?? "", context: sc });
  }
  return out;
}

function fail(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR });
}
