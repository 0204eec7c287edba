import type { IService } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { checkTaskflowServices } from "./taskflow-rules.js";
import { configData, containerOf, objectOf, podSpecOf, renderDev } from "./test-fixtures.js";

const worker = "Deployment/worker container worker";
const scheduler = "Deployment/scheduler container scheduler";
const dashboard = "Deployment/dashboard container dashboard";

describe("checkTaskflowServices", () => {
  it("passes the dev render", () => {
    expect(checkTaskflowServices(renderDev())).toEqual([]);
  });

  it("flags a variable the service's config does not read, and a missing required one", () => {
    const objects = renderDev();
    const env = containerOf(objects, "worker").env ?? [];
    env.push({ name: "NODE_OPTIONS", value: "--max-old-space-size=256" });
    env.splice(env.findIndex((e) => e.name === "SCHEDULER_URL"), 1);
    expect(checkTaskflowServices(objects)).toEqual([
      `${worker}: sets NODE_OPTIONS, which the service's config does not read`,
      `${worker}: does not set SCHEDULER_URL`,
    ]);
  });

  it("counts the keys envFrom brings: the whole shared ConfigMap is too much for one service", () => {
    const objects = renderDev();
    const config = objects.find((o) => o.kind === "ConfigMap");
    containerOf(objects, "history").envFrom = [{ configMapRef: { name: config?.metadata.name ?? "" } }];
    const violations = checkTaskflowServices(objects);
    expect(violations).toContain("Deployment/history container history: sets SCHEDULER_URL, which the service's config does not read");
    expect(violations).not.toContain("Deployment/history container history: sets HISTORY_PORT, which the service's config does not read");
  });

  it("flags a loopback bind and service links", () => {
    const objects = renderDev();
    configData(objects)["SCHEDULER_HOST"] = "127.0.0.1";
    delete podSpecOf(objects, "scheduler").enableServiceLinks;
    expect(checkTaskflowServices(objects)).toEqual([
      `${scheduler}: enableServiceLinks is not false (it injects *_PORT variables)`,
      `${scheduler}: SCHEDULER_HOST is not 0.0.0.0`,
    ]);
  });

  it("flags a port setting that differs from the declared and probed port", () => {
    const objects = renderDev();
    configData(objects)["WORKER_PORT"] = "9000";
    expect(checkTaskflowServices(objects)).toEqual([
      `${worker}: declares no container port named grpc on 9000`,
      `${worker}: readinessProbe is not a grpc probe on port 9000`,
      `${worker}: livenessProbe is not a grpc probe on port 9000`,
    ]);
  });

  it("requires history's startupProbe and grpc probes everywhere", () => {
    const objects = renderDev();
    const history = containerOf(objects, "history");
    delete history.startupProbe;
    history.livenessProbe = { tcpSocket: { port: 50052 } };
    expect(checkTaskflowServices(objects)).toEqual([
      "Deployment/history container history: livenessProbe is not a grpc probe on port 50052",
      "Deployment/history container history: startupProbe is not a grpc probe on port 50052",
    ]);
  });

  it("flags a worker grace period that the drain does not fit in", () => {
    const objects = renderDev();
    podSpecOf(objects, "worker").terminationGracePeriodSeconds = 25;
    expect(checkTaskflowServices(objects)).toEqual([
      `${worker}: terminationGracePeriodSeconds 25 does not exceed preStop 0 ms + drain 25000 ms`,
    ]);
    configData(objects)["SHUTDOWN_GRACE_MS"] = "20000";
    expect(checkTaskflowServices(objects)).toEqual([]);
  });

  it("flags in-cluster URLs that name no Service or a port it lacks", () => {
    const objects = renderDev();
    configData(objects)["HISTORY_URL"] = "http://histroy:50052";
    const stores = objectOf(objects, "Secret", "taskflow-stores")["stringData"] as Record<string, string>;
    stores["REDIS_URL"] = "redis://redis:6380";
    stores["DATABASE_URL"] = "postgres://u:p@db.example.internal:5432/taskflow";
    expect(checkTaskflowServices(objects)).toEqual([
      `${scheduler}: HISTORY_URL points at histroy, which is no Service in the render`,
      `${scheduler}: REDIS_URL points at port 6380, which Service redis does not expose`,
    ]);
  });

  it("flags a Service in front of TaskFlow pods without the grpc port name and h2c", () => {
    const objects = renderDev();
    const port = (objectOf(objects, "Service", "history") as unknown as IService).spec?.ports?.[0];
    if (port === undefined) throw new Error("history Service has no port");
    delete port.appProtocol;
    expect(checkTaskflowServices(objects)).toEqual([
      "Service/history: port grpc is not named grpc with appProtocol kubernetes.io/h2c",
    ]);
  });

  it("flags an image of no known TaskFlow service", () => {
    const objects = renderDev();
    containerOf(objects, "worker").image = "registry.local:5000/taskflow/webhook-relay:0.1.0";
    expect(checkTaskflowServices(objects)).toEqual([
      `${worker}: registry.local:5000/taskflow/webhook-relay:0.1.0 is no known TaskFlow service`,
    ]);
  });

  it("wants the dashboard on a port named http, probed with GET /healthz, behind a Service with appProtocol http", () => {
    const objects = renderDev();
    configData(objects)["DASHBOARD_PORT"] = "9090";
    const container = containerOf(objects, "dashboard");
    container.livenessProbe = { grpc: { port: 8080 } };
    const port = (objectOf(objects, "Service", "dashboard") as unknown as IService).spec?.ports?.[0];
    if (port === undefined) throw new Error("dashboard Service has no port");
    port.appProtocol = "kubernetes.io/h2c";
    // The readiness probe names the port http: the declaration is what is wrong there.
    expect(checkTaskflowServices(objects)).toEqual([
      `${dashboard}: declares no container port named http on 9090`,
      `${dashboard}: livenessProbe is not an httpGet probe of /healthz on port 9090`,
      "Service/dashboard: port http is not named http with appProtocol http",
    ]);
  });

  it("wants the dashboard's service URLs on the scheduler's and history's public ports, and no variable it does not read", () => {
    const objects = renderDev();
    configData(objects)["DASHBOARD_HISTORY_URL"] = "http://scheduler:50051";
    containerOf(objects, "dashboard").env?.push({ name: "HISTORY_TOKEN_FILE", value: "/etc/taskflow/token" });
    expect(checkTaskflowServices(objects)).toEqual([
      `${dashboard}: sets HISTORY_TOKEN_FILE, which the service's config does not read`,
      `${dashboard}: HISTORY_URL points at scheduler:50051, not at history's public port`,
    ]);
  });
});
