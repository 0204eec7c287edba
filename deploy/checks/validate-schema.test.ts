import { describe, expect, it } from "vitest";
import { objectOf, renderDev } from "./test-fixtures.js";
import { validateSchema } from "./validate-schema.js";

describe("validateSchema", () => {
  it("accepts the dev render's objects", async () => {
    for (const object of renderDev()) await validateSchema(object);
  });

  it("rejects a wrong type and a missing required field", async () => {
    const objects = renderDev();
    const redis = objectOf(objects, "Service", "redis");
    (redis["spec"] as { ports: Array<{ port: unknown }> }).ports[0]!.port = "6379";
    await expect(validateSchema(redis)).rejects.toThrow("data/spec/ports/0/port must be integer");
    const worker = objectOf(objects, "Deployment", "worker");
    delete (worker["spec"] as { selector?: unknown }).selector;
    await expect(validateSchema(worker)).rejects.toThrow("data/spec must have required property selector");
  });

  it("checks a KEDA ScaledObject against KEDA's CRD schema", async () => {
    const scaledObject = {
      apiVersion: "keda.sh/v1alpha1",
      kind: "ScaledObject",
      metadata: { name: "worker" },
      spec: { scaleTargetRef: { name: "worker" }, triggers: [{ type: "prometheus", metadata: { query: "up" } }] },
    };
    await validateSchema(scaledObject);
    await expect(validateSchema({ ...scaledObject, spec: { scaleTargetRef: { name: "worker" } } })).rejects.toThrow(
      "must have required property triggers",
    );
    const wrongType = { ...scaledObject, spec: { ...scaledObject.spec, minReplicaCount: "2" } };
    await expect(validateSchema(wrongType)).rejects.toThrow("minReplicaCount must be integer");
  });

  it("rejects kinds without a known schema", async () => {
    const scaledJob = { apiVersion: "keda.sh/v1alpha1", kind: "ScaledJobz", metadata: { name: "worker" } };
    await expect(validateSchema(scaledJob)).rejects.toThrow("no built-in schema for keda.sh/v1alpha1 ScaledJobz");
    const other = { apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor", metadata: { name: "x" } };
    await expect(validateSchema(other)).rejects.toThrow("no built-in schema for monitoring.coreos.com/v1");
    const typo = { apiVersion: "apps/v1", kind: "Deploymnet", metadata: { name: "worker" } };
    await expect(validateSchema(typo)).rejects.toThrow("no built-in schema for apps/v1 Deploymnet");
    const path = { apiVersion: "../v1", kind: "Service", metadata: { name: "x" } };
    await expect(validateSchema(path)).rejects.toThrow("unexpected apiVersion ../v1");
  });
});
