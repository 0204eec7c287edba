import { ConfigReader, readTlsFiles } from "@taskflow/service-kit";

/** The dashboard server's settings, read from the environment by {@link loadDashboardConfig}. */
export interface DashboardConfig {
  /** Address to listen on (DASHBOARD_HOST): 127.0.0.1 by default, 0.0.0.0 in a container. */
  host: string;
  /** Port to listen on (DASHBOARD_PORT, 0: any free port). */
  port: number;
  /** Where the browser's scheduler calls go (SCHEDULER_URL): SchedulerService, QueueService, ScheduleService, AdminService. */
  schedulerUrl: string;
  /** Where the browser's history calls go (HISTORY_URL, the public listener): HistoryService. */
  historyUrl: string;
  /** PEM CA files that sign the services' certificates, for https URLs (SCHEDULER_CA_FILE, HISTORY_CA_FILE). */
  schedulerCaFile: string;
  historyCaFile: string;
  logLevel: string;
  /**
   * PEM certificate and key the dashboard serves HTTPS with (TLS_CERT_FILE, TLS_KEY_FILE; both
   * or neither, read again when they change). Without them it serves plain HTTP, for loopback
   * or behind a proxy that terminates TLS: the browser's token crosses that hop.
   */
  tls: { certFile: string; keyFile: string };
}

/**
 * Reads the dashboard's settings. The server holds no credentials of its own: every call it
 * forwards carries the signed-in user's token, which the services verify.
 * @throws ConfigError naming every bad variable.
 */
export function loadDashboardConfig(env: Record<string, string | undefined> = process.env): DashboardConfig {
  const r = new ConfigReader(env);
  const config: DashboardConfig = {
    host: r.string("DASHBOARD_HOST", "127.0.0.1"),
    port: r.int("DASHBOARD_PORT", 8080, { min: 0, max: 65_535 }),
    schedulerUrl: serviceUrl(r, "SCHEDULER_URL", "http://127.0.0.1:50051"),
    historyUrl: serviceUrl(r, "HISTORY_URL", "http://127.0.0.1:50052"),
    schedulerCaFile: r.string("SCHEDULER_CA_FILE", ""),
    historyCaFile: r.string("HISTORY_CA_FILE", ""),
    logLevel: r.string("LOG_LEVEL", "info"),
    tls: readTlsFiles(r),
  };
  r.done();
  return config;
}

function serviceUrl(r: ConfigReader, name: string, def: string): string {
  const value = r.string(name, def);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    r.invalid(name, `must be an http or https URL, got ${JSON.stringify(value)}`);
    return def;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") r.invalid(name, `must be an http or https URL, got ${JSON.stringify(value)}`);
  return value.replace(/\/+$/, "");
}
