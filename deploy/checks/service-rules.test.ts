import type { IService } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { checkServices } from "./service-rules.js";
import { containerOf, objectOf, renderDev } from "./test-fixtures.js";

function serviceSpec(objects: ReturnType<typeof renderDev>, name: string): NonNullable<IService["spec"]> {
  return (objectOf(objects, "Service", name) as unknown as IService).spec ?? {};
}

describe("checkServices", () => {
  it("passes the dev render", () => {
    expect(checkServices(renderDev())).toEqual([]);
  });

  it("flags a selector that matches no pods", () => {
    const objects = renderDev();
    serviceSpec(objects, "redis").selector = { "app.kubernetes.io/name": "redis-typo" };
    expect(checkServices(objects)).toEqual([
      'Service/redis: selector {"app.kubernetes.io/name":"redis-typo"} matches no workload\'s pods',
    ]);
  });

  it("flags a target port no selected container declares, by name and by number", () => {
    const objects = renderDev();
    const port = serviceSpec(objects, "scheduler").ports?.[0];
    if (port === undefined) throw new Error("scheduler Service has no port");
    port.targetPort = "http";
    expect(checkServices(objects)).toEqual(["Service/scheduler: port grpc targets http, which no selected container declares"]);
    port.targetPort = 50052;
    expect(checkServices(objects)).toEqual(["Service/scheduler: port grpc targets 50052, which no selected container declares"]);
    port.targetPort = 50051;
    expect(checkServices(objects)).toEqual([]);
  });

  it("flags a Service whose pods renamed their port", () => {
    const objects = renderDev();
    const ports = containerOf(objects, "history").ports ?? [];
    for (const p of ports) p.name = "h2c";
    expect(checkServices(objects)).toEqual(["Service/history: port grpc targets grpc, which no selected container declares"]);
  });
});
