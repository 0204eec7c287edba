import { diag, DiagLogLevel, type DiagLogger } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { Logger } from "pino";
import type { RunningTracing } from "./tracing-config.js";

/**
 * The SDK half of startTracing, loaded only when tracing is on. Registers a NodeTracerProvider
 * (AsyncLocalStorage context, W3C trace context and baggage propagators) exporting in batches to
 * `tracesUrl`. The SDK's own troubles (an export that failed) go to `logger` at warn.
 */
export function registerTracerProvider(opts: { tracesUrl: string; serviceName: string }, logger: Logger): RunningTracing {
  diag.setLogger(diagLoggerOf(logger), DiagLogLevel.WARN);
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName })),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: opts.tracesUrl }))],
  });
  provider.register();
  return { shutdown: () => provider.shutdown() };
}

function diagLoggerOf(logger: Logger): DiagLogger {
  const log = (level: "error" | "warn" | "info" | "debug" | "trace") => (message: string, ...args: unknown[]) =>
    logger[level]({ sdk_message: message, details: args.length > 0 ? args.map(String) : undefined }, "opentelemetry sdk");
  return { error: log("error"), warn: log("warn"), info: log("info"), debug: log("debug"), verbose: log("trace") };
}
