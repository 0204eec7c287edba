import type { Interceptor } from "@connectrpc/connect";
import {
  context,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  trace,
  type Context,
  type SpanContext,
  type TextMapSetter,
  type Tracer,
} from "@opentelemetry/api";

/**
 * The tracer `name` of the provider the application registered, or undefined when none is
 * (tracing off): callers then create no span at all, not even a non-recording one. Asked per
 * use (a property read when off), so a provider registered later is used from then on.
 */
export function activeTracer(name: string): Tracer | undefined {
  const provider = trace.getTracerProvider();
  if (!(provider instanceof ProxyTracerProvider)) return provider.getTracer(name);
  return provider.getDelegateTracer(name);
}

const setHeader: TextMapSetter<Headers> = { set: (carrier, key, value) => carrier.set(key, value) };

/**
 * Sends the active trace context with every call, in the headers the application's registered
 * propagator writes (W3C `traceparent` and `tracestate` with the OpenTelemetry SDK's defaults).
 * Only `@opentelemetry/api` is used: without a registered provider and propagator this is two
 * no-op calls and writes nothing.
 */
export const injectTraceContext: Interceptor = (next) => (req) => {
  propagation.inject(context.active(), req.header, setHeader);
  return next(req);
};

const TRACE_PARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The W3C `traceparent` of a span context (`00-<trace id>-<span id>-<flags>`); "" when it is not valid. */
export function formatTraceParent(sc: SpanContext | undefined): string {
  if (sc === undefined || !trace.isSpanContextValid(sc)) return "";
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

/**
 * The span context a W3C `traceparent` names, as a remote parent; undefined for "" or anything
 * malformed (a job traced by no one, or a field written by something else), so a bad value
 * starts a new trace rather than failing the job.
 */
export function parseTraceParent(traceParent: string): SpanContext | undefined {
  const m = TRACE_PARENT.exec(traceParent);
  if (m === null) return undefined;
  const sc: SpanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16), isRemote: true };
  return trace.isSpanContextValid(sc) ? sc : undefined;
}

/**
 * `trace_id` and `span_id` of the active span, for a log line (a pino `mixin`); nothing when no
 * span is active, which without tracing is one lookup of the active context.
 */
export function activeTraceFields(): { trace_id?: string; span_id?: string } {
  const sc = trace.getSpan(context.active())?.spanContext();
  if (sc === undefined || !trace.isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId };
}

/** Attributes the SDK's attempt spans and the scheduler's job spans name a job by. */
export const JOB_SPAN_ATTRIBUTES = Object.freeze({
  id: "taskflow.job.id",
  type: "taskflow.job.type",
  queue: "taskflow.job.queue",
  attempt: "taskflow.job.attempt",
});

/** `parent` (default: no parent) with the span `traceParent` names as its active span; `parent` itself when it names none. */
export function contextOfTraceParent(traceParent: string, parent: Context = ROOT_CONTEXT): Context {
  const sc = parseTraceParent(traceParent);
  return sc === undefined ? parent : trace.setSpanContext(parent, sc);
}
