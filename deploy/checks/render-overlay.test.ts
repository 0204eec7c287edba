import { describe, expect, it } from "vitest";
import { parseManifests, renderOverlay } from "./render-overlay.js";

describe("parseManifests", () => {
  it("parses every document and skips empty ones", () => {
    const text = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n";
    expect(parseManifests(text).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(["ConfigMap/a", "Secret/b"]);
  });

  it("rejects invalid YAML and documents that are not Kubernetes objects", () => {
    expect(() => parseManifests("kind: [unclosed\n")).toThrow("invalid YAML");
    expect(() => parseManifests("apiVersion: v1\nkind: ConfigMap\n")).toThrow("not a Kubernetes object");
  });
});

describe("renderOverlay", () => {
  it("names the missing binary when kubectl cannot be found", () => {
    const saved = process.env["KUBECTL"];
    process.env["KUBECTL"] = "/nonexistent/kubectl";
    try {
      expect(() => renderOverlay(".")).toThrow("/nonexistent/kubectl not found: install kubectl or set KUBECTL");
    } finally {
      if (saved === undefined) delete process.env["KUBECTL"];
      else process.env["KUBECTL"] = saved;
    }
  });
});
