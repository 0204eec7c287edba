import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
} from "@opentelemetry/api";
import { activeTraceFields, activeTracer, formatTraceParent } from "@taskflow/client";
import { PUBLIC_SERVICES } from "./auth/access-policy.js";
import { procedureOf } from "./error-interceptor.js";
import { onStreamEnd } from "./logging-interceptor.js";

/** Instrumentation scope of the kit's spans (the RPC server spans). */
export const TRACER_NAME = "@taskflow/service-kit";

/** The procedure of the call being handled, in its context while it is traced. */
const PROCEDURE_KEY = createContextKey("taskflow.procedure");

/**
 * RPC attribute names of the OpenTelemetry semantic conventions. They are still "incubating"
 * there, and the conventions ask users to copy incubating names rather than import them.
 */
export const RPC_ATTRIBUTES = Object.freeze({
  system: "rpc.system",
  service: "rpc.service",
  method: "rpc.method",
  grpcStatusCode: "rpc.grpc.status_code",
});

/**
 * What every log line gets from its context (the logger's `mixin`): `trace_id` and `span_id` of
 * the active span, and while a call is traced, its `procedure`. Without tracing there is no
 * context to read (one lookup of the empty root context), so request lines carry no procedure
 * then: the call's own lines (`rpc finished`, `internal error`) name it themselves.
 */
export function activeLogFields(): { trace_id?: string; span_id?: string; procedure?: string } {
  const fields: { trace_id?: string; span_id?: string; procedure?: string } = activeTraceFields();
  if (fields.trace_id === undefined) return fields;
  const procedure = context.active().getValue(PROCEDURE_KEY);
  if (typeof procedure === "string") fields.procedure = procedure;
  return fields;
}

/** The W3C traceparent of the span active now; "" when there is none (tracing off, or no span). */
export function activeTraceParent(): string {
  return formatTraceParent(trace.getSpan(context.active())?.spanContext());
}

// Codes that mean the server failed, not the caller: a server span ends in error on these only,
// as the gRPC conventions say.
const SERVER_FAULTS: ReadonlySet<Code> = new Set([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

const headerGetter: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

/**
 * A SERVER span per call, named by the procedure (`taskflow.v1.SchedulerService/SubmitJobs`),
 * child of the caller's context from the request's W3C `traceparent`/`tracestate` headers, with
 * `rpc.system` (`grpc` for gRPC and gRPC-Web, `connect_rpc` otherwise), `rpc.service`,
 * `rpc.method` and `rpc.grpc.status_code`. The handler runs with the span active (so its log
 * lines carry the trace and span ids and the procedure, and its outgoing calls continue the trace); a stream's
 * span ends when the stream does. Health checks and reflection are not traced: probes every few
 * seconds would bury the traces that matter. Without a registered provider the call passes
 * straight on.
 */
export function createTracingInterceptor(): Interceptor {
  return (next) => async (req) => {
    const tracer = activeTracer(TRACER_NAME);
    if (tracer === undefined || PUBLIC_SERVICES.has(req.service.typeName)) return next(req);
    const parent = propagation.extract(ROOT_CONTEXT, req.header, headerGetter);
    const procedure = procedureOf(req);
    const span = tracer.startSpan(
      procedure,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [RPC_ATTRIBUTES.system]: (req.header.get("content-type") ?? "").startsWith("application/grpc") ? "grpc" : "connect_rpc",
          [RPC_ATTRIBUTES.service]: req.service.typeName,
          [RPC_ATTRIBUTES.method]: req.method.name,
        },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span).setValue(PROCEDURE_KEY, procedure);
    try {
      const res = await context.with(ctx, () => next(req));
      if (!res.stream) {
        endServerSpan(span);
        return res;
      }
      const message = inContext(res.message, ctx);
      return { ...res, message: onStreamEnd(message, (err) => endServerSpan(span, err)) };
    } catch (err) {
      endServerSpan(span, err);
      throw err;
    }
  };
}

/** Sets the span's gRPC status code (and error status on a server fault) and ends it. */
export function endServerSpan(span: Span, err?: unknown): void {
  if (err === undefined) {
    span.setAttribute(RPC_ATTRIBUTES.grpcStatusCode, 0);
    span.end();
    return;
  }
  const ce = ConnectError.from(err);
  span.setAttribute(RPC_ATTRIBUTES.grpcStatusCode, ce.code);
  if (SERVER_FAULTS.has(ce.code)) {
    span.recordException(ce);
    span.setStatus({ code: SpanStatusCode.ERROR, message: ce.rawMessage });
  }
  span.end();
}

/**
 * Pulls each message of a handler's stream inside `ctx`: a generator's body runs in the context
 * of whoever asks for its next value (here the adapter writing the answer), not where it was
 * created, so without this a streaming handler would run outside its call's span.
 */
async function* inContext<T>(messages: AsyncIterable<T>, ctx: Context): AsyncIterable<T> {
  const it = messages[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      const r = await context.with(ctx, () => it.next());
      if (r.done === true) {
        done = true;
        return;
      }
      yield r.value;
    }
  } finally {
    // The consumer stopped early (the client went away): let the handler's generator clean up.
    if (!done) await context.with(ctx, async () => it.return?.());
  }
}
