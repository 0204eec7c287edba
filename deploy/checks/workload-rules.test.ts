import { describe, expect, it } from "vitest";
import { containerOf, objectOf, podSpecOf, renderDev } from "./test-fixtures.js";
import { checkWorkloads, imageTag } from "./workload-rules.js";

describe("imageTag", () => {
  it("reads tags and digests, and no tag where only a registry port has a colon", () => {
    expect(imageTag("taskflow/scheduler:0.1.0")).toBe("0.1.0");
    expect(imageTag("redis:7.2")).toBe("7.2");
    expect(imageTag("registry.local:5000/taskflow/worker")).toBeUndefined();
    expect(imageTag("registry.local:5000/taskflow/worker:1.2")).toBe("1.2");
    expect(imageTag("postgres@sha256:abc")).toBe("sha256:abc");
  });
});

describe("checkWorkloads", () => {
  it("passes the dev render", () => {
    expect(checkWorkloads(renderDev())).toEqual([]);
  });

  it("flags a latest or missing image tag", () => {
    const objects = renderDev();
    containerOf(objects, "worker").image = "taskflow/worker:latest";
    containerOf(objects, "redis").image = "redis";
    expect(checkWorkloads(objects)).toEqual([
      "Deployment/redis container redis: image redis has no tag (means latest)",
      "Deployment/worker container worker: image taskflow/worker:latest uses latest",
    ]);
  });

  it("flags a missing probe and a missing limit", () => {
    const objects = renderDev();
    const postgres = containerOf(objects, "postgres", "StatefulSet");
    delete postgres.livenessProbe;
    delete postgres.resources?.limits?.["memory"];
    expect(checkWorkloads(objects)).toEqual([
      "StatefulSet/postgres container postgres: no livenessProbe",
      "StatefulSet/postgres container postgres: no resources.limits.memory",
    ]);
  });

  it("flags each loosened security setting, and accepts pod-level runAsNonRoot and seccomp", () => {
    const objects = renderDev();
    const history = containerOf(objects, "history");
    history.securityContext = { runAsNonRoot: undefined, readOnlyRootFilesystem: false, capabilities: { add: ["NET_ADMIN"] } };
    expect(checkWorkloads(objects)).toEqual([
      "Deployment/history container history: readOnlyRootFilesystem is not true",
      "Deployment/history container history: allowPrivilegeEscalation is not false",
      "Deployment/history container history: does not drop ALL capabilities",
      "Deployment/history container history: adds capabilities",
    ]);
    podSpecOf(objects, "history").securityContext = { runAsUser: 0 };
    expect(checkWorkloads(objects)).toContain("Deployment/history container history: runAsNonRoot is not true");
    expect(checkWorkloads(objects)).toContain("Deployment/history container history: runs as uid 0");
    expect(checkWorkloads(objects)).toContain("Deployment/history container history: seccomp is not RuntimeDefault");
  });

  it("flags a selector that misses its own pod template, and missing TaskFlow labels", () => {
    const objects = renderDev();
    const scheduler = objectOf(objects, "Deployment", "scheduler");
    (scheduler["spec"] as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels = { app: "x" };
    delete scheduler.metadata.labels?.["app.kubernetes.io/part-of"];
    expect(checkWorkloads(objects)).toEqual([
      "Deployment/scheduler: no label app.kubernetes.io/part-of",
      "Deployment/scheduler: app.kubernetes.io/part-of is not taskflow",
      "Deployment/scheduler: selector does not match its pod template",
    ]);
  });
});
