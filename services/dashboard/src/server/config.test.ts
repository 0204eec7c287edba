import { ConfigError } from "@taskflow/service-kit";
import { describe, expect, it } from "vitest";
import { loadDashboardConfig } from "./config.js";

/** The ConfigError loadDashboardConfig throws for `env`. @throws Error when it throws none. */
function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    loadDashboardConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected loadDashboardConfig to throw");
}

describe("loadDashboardConfig", () => {
  it("defaults to loopback on 8080, in front of a stack on the default ports", () => {
    expect(loadDashboardConfig({})).toEqual({
      host: "127.0.0.1",
      port: 8080,
      schedulerUrl: "http://127.0.0.1:50051",
      historyUrl: "http://127.0.0.1:50052",
      schedulerCaFile: "",
      historyCaFile: "",
      logLevel: "info",
      tls: { certFile: "", keyFile: "" },
    });
  });

  it("reads every variable, dropping a trailing slash from the service URLs", () => {
    const config = loadDashboardConfig({
      DASHBOARD_HOST: "0.0.0.0",
      DASHBOARD_PORT: "0",
      SCHEDULER_URL: "https://scheduler:50051/",
      HISTORY_URL: "https://history:50052",
      SCHEDULER_CA_FILE: "/etc/taskflow/ca/ca.crt",
      HISTORY_CA_FILE: "/etc/taskflow/ca/ca.crt",
      LOG_LEVEL: "debug",
      TLS_CERT_FILE: "/etc/taskflow/tls/tls.crt",
      TLS_KEY_FILE: "/etc/taskflow/tls/tls.key",
    });
    expect(config).toEqual({
      host: "0.0.0.0",
      port: 0,
      schedulerUrl: "https://scheduler:50051",
      historyUrl: "https://history:50052",
      schedulerCaFile: "/etc/taskflow/ca/ca.crt",
      historyCaFile: "/etc/taskflow/ca/ca.crt",
      logLevel: "debug",
      tls: { certFile: "/etc/taskflow/tls/tls.crt", keyFile: "/etc/taskflow/tls/tls.key" },
    });
  });

  it("reports a bad port and every bad URL together", () => {
    const err = configErrorOf({ DASHBOARD_PORT: "80800", SCHEDULER_URL: "scheduler:50051", HISTORY_URL: "ftp://history:50052", TLS_KEY_FILE: "/k" });
    expect(err.problems).toHaveLength(4);
    expect(err.problems[0]).toMatch(/^DASHBOARD_PORT: /);
    expect(err.problems.slice(1)).toEqual([
      'SCHEDULER_URL: must be an http or https URL, got "scheduler:50051"',
      'HISTORY_URL: must be an http or https URL, got "ftp://history:50052"',
      "TLS_CERT_FILE: needs TLS_KEY_FILE, and the other way round",
    ]);
    for (const name of ["DASHBOARD_PORT", "SCHEDULER_URL", "HISTORY_URL"]) expect(err.message).toContain(name);
  });

  it("refuses a port that is no integer", () => {
    expect(configErrorOf({ DASHBOARD_PORT: "http" }).problems).toEqual([expect.stringMatching(/^DASHBOARD_PORT: .*"http"/)]);
  });
});
