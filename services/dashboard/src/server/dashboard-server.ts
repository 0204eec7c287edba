import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { isLoopback, ServerTls } from "@taskflow/service-kit";
import { createProxyServer } from "http-proxy-3";
import type { Logger } from "pino";
import sirv from "sirv";
import type { DashboardConfig } from "./config.js";
import { isRpcPath, upstreamOf } from "./routes.js";

/** The running dashboard server. */
export interface DashboardServer {
  /** e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Stops listening and ends open connections, the streams of live pages among them. */
  close(): Promise<void>;
}

/**
 * Headers of every answer. The page loads nothing from elsewhere and calls only its own origin;
 * uPlot sets inline styles, hence `style-src 'unsafe-inline'` (styles only, never scripts).
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/**
 * Serves the dashboard's built pages from `appDir` and forwards the browser's Connect calls to
 * the scheduler and history, as they are: the caller's `Authorization` goes through untouched
 * and the server adds no credentials, so every call is the signed-in user's, checked by the
 * services themselves. Only the public services are forwarded (see upstreamOf); any other RPC
 * path is refused with `not_found`.
 */
export async function startDashboardServer(config: DashboardConfig, appDir: string, logger: Logger): Promise<DashboardServer> {
  const upstreams = {
    scheduler: upstream(config.schedulerUrl, config.schedulerCaFile),
    history: upstream(config.historyUrl, config.historyCaFile),
  };
  const proxy = createProxyServer({ xfwd: false, changeOrigin: true });
  proxy.on("error", (err, req, res) => {
    const name = upstreamOf(new URL(req.url ?? "/", "http://x").pathname) ?? "service";
    logger.warn({ err, path: req.url }, "forwarding failed");
    if (res instanceof http.ServerResponse && !res.headersSent) {
      connectError(res, 503, "unavailable", `the dashboard cannot reach the ${name} (${upstreams[name === "service" ? "scheduler" : name].target})`);
    } else {
      res.destroy();
    }
  });
  const files = sirv(appDir, {
    single: true,
    etag: true,
    gzip: false,
    // Hashed asset names change with their content; index.html is always revalidated.
    setHeaders: (res, path) => res.setHeader("cache-control", path.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache"),
  });

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return;
    }
    if (isRpcPath(path)) {
      const name = upstreamOf(path);
      if (name === undefined) {
        connectError(res, 404, "not_found", `${path} is not served to browsers`);
        return;
      }
      if (req.method !== "POST") {
        connectError(res, 405, "unimplemented", "RPCs take POST");
        return;
      }
      const { target, agent } = upstreams[name];
      proxy.web(req, res, { target, agent });
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    files(req, res, () => {
      res.writeHead(404).end();
    });
  };
  // The services' own TLS files and reloads, served over HTTPS (HTTP/1.1) here.
  const tls = config.tls.certFile === "" ? undefined : new ServerTls(config.tls, logger);
  const server = tls === undefined ? http.createServer(handle) : tls.watch(https.createServer(tls.secureOptions, handle));
  if (tls === undefined && !isLoopback(config.host)) {
    logger.warn({ host: config.host }, "serving plain HTTP beyond loopback: tokens cross the network in the clear unless a proxy in front terminates TLS");
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `${tls === undefined ? "http" : "https"}://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  logger.info({ url, scheduler: config.schedulerUrl, history: config.historyUrl }, "listening");
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const { agent } of Object.values(upstreams)) agent.destroy();
        tls?.close();
      }),
  };
}

/** Where one service is, and the keep-alive agent that reaches it (trusting `caFile` for https). */
function upstream(target: string, caFile: string): { target: string; agent: http.Agent } {
  const agent = target.startsWith("https:")
    ? new https.Agent({ keepAlive: true, ca: caFile === "" ? undefined : readFileSync(caFile, "utf8") })
    : new http.Agent({ keepAlive: true });
  return { target, agent };
}

/** A Connect protocol error answer, which the browser's client reads as a ConnectError. */
function connectError(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ code, message }));
}
