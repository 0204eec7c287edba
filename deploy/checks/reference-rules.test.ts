import { describe, expect, it } from "vitest";
import { checkReferences } from "./reference-rules.js";
import { containerOf, objectOf, renderDev } from "./test-fixtures.js";

describe("checkReferences", () => {
  it("passes the dev render", () => {
    expect(checkReferences(renderDev())).toEqual([]);
  });

  it("flags a Secret missing from the render", () => {
    const objects = renderDev().filter((o) => !(o.kind === "Secret" && o.metadata.name === "taskflow-stores"));
    expect(checkReferences(objects)).toEqual([
      "Deployment/history container history env DATABASE_URL: Secret/taskflow-stores is not in the render",
      "Deployment/history container history env PAGE_TOKEN_SECRET: Secret/taskflow-stores is not in the render",
      "Deployment/scheduler container scheduler env REDIS_URL: Secret/taskflow-stores is not in the render",
    ]);
  });

  it("flags a key the ConfigMap or Secret does not hold, unless the reference is optional", () => {
    const objects = renderDev();
    const stores = objectOf(objects, "Secret", "taskflow-stores");
    delete (stores["stringData"] as Record<string, string>)["REDIS_URL"];
    expect(checkReferences(objects)).toEqual([
      "Deployment/scheduler container scheduler env REDIS_URL: Secret/taskflow-stores has no key REDIS_URL",
    ]);
    const ref = containerOf(objects, "scheduler").env?.find((e) => e.name === "REDIS_URL")?.valueFrom?.secretKeyRef;
    if (ref === undefined) throw new Error("scheduler reads no REDIS_URL");
    ref.optional = true;
    expect(checkReferences(objects)).toEqual([]);
  });

  it("flags envFrom sources, volumes and a StatefulSet serviceName that name nothing", () => {
    const objects = renderDev();
    containerOf(objects, "worker").envFrom = [{ configMapRef: { name: "taskflow-config" } }];
    const postgres = objectOf(objects, "StatefulSet", "postgres")["spec"] as { serviceName: string; template: { spec: { volumes: unknown[] } } };
    postgres.serviceName = "pg";
    postgres.template.spec.volumes.push({ name: "extra", secret: { secretName: "missing" } });
    expect(checkReferences(objects)).toEqual([
      // The generator's hash suffix is part of the name; an unhashed reference misses it.
      "Deployment/worker container worker envFrom: ConfigMap/taskflow-config is not in the render",
      "StatefulSet/postgres volume extra: Secret/missing is not in the render",
      "StatefulSet/postgres: serviceName pg names no Service in the render",
    ]);
  });
});
