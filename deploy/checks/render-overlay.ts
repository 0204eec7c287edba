import { execFileSync } from "node:child_process";
import { parseAllDocuments } from "yaml";
import { isK8sObject, type K8sObject } from "./k8s-object.js";

/** Largest render accepted from kubectl, in bytes. */
const MAX_RENDER_BYTES = 16 * 1024 * 1024;

/**
 * Renders a kustomization the way `kubectl apply -k` would and parses every document.
 * Uses `$KUBECTL` when set (CI may pin a binary), else `kubectl` on PATH.
 * @param dir folder holding a kustomization.yaml
 * @throws Error when kubectl is missing or fails, a document is not valid YAML, or is not a Kubernetes object.
 */
export function renderOverlay(dir: string): K8sObject[] {
  const kubectl = process.env["KUBECTL"] ?? "kubectl";
  let text: string;
  try {
    text = execFileSync(kubectl, ["kustomize", dir], { encoding: "utf8", maxBuffer: MAX_RENDER_BYTES });
  } catch (err) {
    // A missing binary would otherwise surface as a bare "spawnSync kubectl ENOENT".
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(`${kubectl} not found: install kubectl or set KUBECTL`, { cause: err });
    }
    throw err;
  }
  return parseManifests(text);
}

/**
 * Parses a multi-document YAML stream of Kubernetes objects, skipping empty documents.
 * @throws Error on a YAML error or a document without apiVersion, kind and metadata.name.
 */
export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isK8sObject(value)) throw new Error(`not a Kubernetes object: ${JSON.stringify(value).slice(0, 200)}`);
    objects.push(value);
  }
  return objects;
}
