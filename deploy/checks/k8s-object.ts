import type { IContainer, IPodSpec } from "kubernetes-models/v1";

/** One rendered Kubernetes object as parsed from YAML; the checks read the rest loosely. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** A Deployment, StatefulSet, DaemonSet or Job seen through its pod template. */
export interface PodWorkload {
  /** `Kind/name`, for messages. */
  readonly id: string;
  readonly object: K8sObject;
  readonly namespace: string | undefined;
  /** Labels of the pods it creates (the template's). */
  readonly podLabels: Record<string, string>;
  readonly selector: Record<string, string>;
  readonly spec: IPodSpec;
}

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job"]);

/** `Kind/name`, the way kubectl names an object. */
export function objectId(object: K8sObject): string {
  return `${object.kind}/${object.metadata.name}`;
}

/** True when `value` has the shape every Kubernetes object shares. */
export function isK8sObject(value: unknown): value is K8sObject {
  if (typeof value !== "object" || value === null) return false;
  const o = value as Record<string, unknown>;
  const metadata = o["metadata"] as Record<string, unknown> | undefined;
  return typeof o["apiVersion"] === "string" && typeof o["kind"] === "string" && typeof metadata?.["name"] === "string";
}

/** The workloads among `objects` that run pods from a template. */
export function listWorkloads(objects: readonly K8sObject[]): PodWorkload[] {
  return objects.filter((o) => WORKLOAD_KINDS.has(o.kind)).map(toWorkload);
}

function toWorkload(object: K8sObject): PodWorkload {
  const spec = (object["spec"] ?? {}) as {
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string> }; spec?: IPodSpec };
  };
  return {
    id: objectId(object),
    object,
    namespace: object.metadata.namespace,
    podLabels: spec.template?.metadata?.labels ?? {},
    selector: spec.selector?.matchLabels ?? {},
    spec: spec.template?.spec ?? { containers: [] },
  };
}

/** Every container of a pod, init containers included. */
export function allContainers(spec: IPodSpec): IContainer[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

/** The object of that kind and name in that namespace, if the render holds one. */
export function findObject(
  objects: readonly K8sObject[],
  kind: string,
  name: string,
  namespace: string | undefined,
): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
}

/** True when every label of `selector` is on `labels` with the same value (and it is not empty). */
export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const pairs = Object.entries(selector);
  return pairs.length > 0 && pairs.every(([key, value]) => labels[key] === value);
}

/** The keys a ConfigMap or Secret holds, whichever of data, stringData, binaryData they are in. */
export function dataKeys(object: K8sObject): string[] {
  const fields = ["data", "stringData", "binaryData"].map((f) => (object[f] ?? {}) as Record<string, unknown>);
  return fields.flatMap((f) => Object.keys(f));
}
