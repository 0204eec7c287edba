import type { Logger } from "pino";
import type { Registry } from "prom-client";

/** Where Prometheus scrapes a service's metrics. */
export const METRICS_PATH = "/metrics";

/** What {@link serveMetrics} needs of an HTTP/1.1 or HTTP/2 request and response. */
interface MetricsRequest {
  method?: string;
  url?: string;
}
interface MetricsResponse {
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(body: string): unknown;
}

/** Whether the request is a scrape: `GET` (or `HEAD`) of {@link METRICS_PATH}, any query string. */
export function isMetricsRequest(req: MetricsRequest): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  return (req.url ?? "").split("?")[0] === METRICS_PATH;
}

/** Answers a scrape with the registry's metrics in the Prometheus text format; 500 when collecting fails. */
export async function serveMetrics(
  registry: Registry,
  req: MetricsRequest,
  res: MetricsResponse,
  logger: Logger,
): Promise<void> {
  let body: string;
  try {
    body = await registry.metrics();
  } catch (err) {
    logger.error({ err }, "metrics not collected");
    res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
    res.end("metrics unavailable\n");
    return;
  }
  res.writeHead(200, { "content-type": registry.contentType, "content-length": Buffer.byteLength(body) });
  res.end(req.method === "HEAD" ? "" : body);
}
