import { ParentFailurePolicy } from "@taskflow/proto";
import { describe, expect, it } from "vitest";
import { flattenFlow } from "./flow-tree.js";
import { toSubmitRequest } from "./to-submit-request.js";

describe("flattenFlow", () => {
  it("lists a tree parents first, each child depending on its parent's ref and on its own parents", () => {
    const stored = "018f0000-0000-7000-8000-000000000001";
    const jobs = flattenFlow({
      type: "root",
      children: [{ type: "a", children: [{ type: "a1", dependsOn: [stored], onParentFailure: "run" }] }, { type: "b" }],
    });
    expect(jobs).toEqual([
      { type: "root", ref: "flow:0" },
      { type: "a", ref: "flow:0.0", dependsOn: ["flow:0"] },
      { type: "a1", ref: "flow:0.0.0", dependsOn: ["flow:0.0", stored], onParentFailure: "run" },
      { type: "b", ref: "flow:0.1", dependsOn: ["flow:0"] },
    ]);
  });

  it("maps dependsOn, ref and the policy onto the request", () => {
    const req = toSubmitRequest({ type: "x", ref: "r", dependsOn: ["p"], onParentFailure: "cancel" });
    expect(req).toMatchObject({ ref: "r", dependsOn: ["p"], onParentFailure: ParentFailurePolicy.CANCEL });
    expect(toSubmitRequest({ type: "x" })).toMatchObject({ ref: "", dependsOn: [], onParentFailure: ParentFailurePolicy.UNSPECIFIED });
  });
});
