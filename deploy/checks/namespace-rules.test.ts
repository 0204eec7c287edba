import { describe, expect, it } from "vitest";
import { checkNamespace } from "./namespace-rules.js";
import { objectOf, renderDev } from "./test-fixtures.js";

describe("checkNamespace", () => {
  it("passes the dev render for taskflow-dev", () => {
    expect(checkNamespace(renderDev(), "taskflow-dev")).toEqual([]);
  });

  it("flags an object elsewhere and a namespace the render does not create", () => {
    const objects = renderDev();
    objectOf(objects, "Service", "redis").metadata.namespace = "default";
    const withoutNamespace = objects.filter((o) => o.kind !== "Namespace");
    expect(checkNamespace(withoutNamespace, "taskflow-dev")).toEqual([
      "Service/redis: namespace default is not taskflow-dev",
      "Namespace/taskflow-dev is not in the render",
    ]);
  });
});
