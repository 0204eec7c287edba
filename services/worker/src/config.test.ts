import { hostname } from "node:os";
import { ConfigError } from "@taskflow/service-kit";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";
import { parseAllowlist } from "./handlers/destination-policy.js";

describe("loadConfig", () => {
  it("has defaults for everything", () => {
    expect(loadConfig({})).toEqual({
      schedulerUrl: "http://127.0.0.1:50051",
      schedulerCredentials: { tokenFile: "", caFile: "", certFile: "", keyFile: "" },
      tls: { certFile: "", keyFile: "" },
      workerId: `${hostname()}-${process.pid}`,
      queues: ["default"],
      concurrency: 10,
      handlers: ["echo", "sleep", "fail", "flaky"],
      httpAllow: [],
      host: "127.0.0.1",
      port: 50053,
      shutdownGraceMs: 25_000,
      secretPayloadKeys: ["authorization", "password", "passwd", "secret", "token", "api_key", "apikey", "private_key", "cookie", "credential"],
      logLevel: "info",
      tracing: { otlpEndpoint: "", serviceName: "" },
    });
  });

  it("reads every variable", () => {
    const config = loadConfig({
      SCHEDULER_URL: "http://scheduler:50051",
      WORKER_ID: "w-1",
      WORKER_QUEUES: "high, default",
      WORKER_CONCURRENCY: "4",
      WORKER_HANDLERS: "echo,http",
      HTTP_HANDLER_ENABLED: "true",
      HTTP_HANDLER_ALLOW: "hooks.example.com, *.example.org,10.0.0.0/8",
      WORKER_HOST: "0.0.0.0",
      WORKER_PORT: "0",
      SHUTDOWN_GRACE_MS: "1000",
      SECRET_PAYLOAD_KEYS: "Authorization,X-Signature",
      LOG_LEVEL: "debug",
    });
    expect(config).toMatchObject({
      schedulerUrl: "http://scheduler:50051",
      workerId: "w-1",
      queues: ["high", "default"],
      concurrency: 4,
      handlers: ["echo", "http"],
      httpAllow: parseAllowlist(["hooks.example.com", "*.example.org", "10.0.0.0/8"]).entries,
      host: "0.0.0.0",
      port: 0,
      shutdownGraceMs: 1000,
      secretPayloadKeys: ["Authorization", "X-Signature"],
      logLevel: "debug",
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("enables the http handler only with HTTP_HANDLER_ENABLED=true", () => {
    expect(loadConfig({ HTTP_HANDLER_ENABLED: "false" }).handlers).toEqual(["echo", "sleep", "fail", "flaky"]);
    expect(loadConfig({ HTTP_HANDLER_ENABLED: "true" }).handlers).toEqual(["echo", "sleep", "fail", "flaky", "http"]);
    expect(loadConfig({ HTTP_HANDLER_ENABLED: "true", WORKER_HANDLERS: "echo" }).handlers).toEqual(["echo"]);
  });

  it("refuses http in WORKER_HANDLERS without HTTP_HANDLER_ENABLED, and unreadable allowlist entries", () => {
    const err = (() => {
      try {
        loadConfig({ WORKER_HANDLERS: "echo,http", HTTP_HANDLER_ALLOW: "10.0.0.0/99,ok.example.com", HTTP_HANDLER_ENABLED: "yes" });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      'HTTP_HANDLER_ENABLED: must be one of true, false, got "yes"',
      'HTTP_HANDLER_ALLOW: cannot read entry "10.0.0.0/99"',
      "WORKER_HANDLERS: http is listed but HTTP_HANDLER_ENABLED is not true",
    ]);
  });

  it("reports every bad variable at once, unknown handlers included", () => {
    const err = (() => {
      try {
        loadConfig({ WORKER_CONCURRENCY: "0", SCHEDULER_URL: "nope", WORKER_HANDLERS: "echo,teleport,fax" });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems.join("\n")).toMatch(/WORKER_CONCURRENCY/);
    expect(problems.join("\n")).toMatch(/SCHEDULER_URL/);
    expect(problems.join("\n")).toMatch(/WORKER_HANDLERS: unknown handler teleport, fax/);
  });
});
