import type { IContainer } from "kubernetes-models/v1";
import { findObject, type K8sObject } from "./k8s-object.js";

/**
 * The environment a container starts with, as far as the render decides it: envFrom first,
 * then env in order (a later entry wins, as in the kubelet). A value that is only known at run
 * time (fieldRef, resourceFieldRef) or whose source is missing maps to undefined.
 * @param namespace the workload's namespace, where referenced objects are looked up
 */
export function resolveEnv(
  container: IContainer,
  namespace: string | undefined,
  objects: readonly K8sObject[],
): Map<string, string | undefined> {
  const env = new Map<string, string | undefined>();
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef;
    const kind = source.configMapRef !== undefined ? "ConfigMap" : "Secret";
    const object = findObject(objects, kind, ref?.name ?? "", namespace);
    for (const [key, value] of Object.entries(object === undefined ? {} : readData(object))) {
      env.set(`${source.prefix ?? ""}${key}`, value);
    }
  }
  for (const entry of container.env ?? []) {
    env.set(entry.name, entry.value ?? lookUp(entry.valueFrom, namespace, objects));
  }
  return env;
}

function lookUp(
  valueFrom: NonNullable<IContainer["env"]>[number]["valueFrom"],
  namespace: string | undefined,
  objects: readonly K8sObject[],
): string | undefined {
  const cm = valueFrom?.configMapKeyRef;
  if (cm !== undefined) return readKey(findObject(objects, "ConfigMap", cm.name ?? "", namespace), cm.key);
  const secret = valueFrom?.secretKeyRef;
  if (secret !== undefined) return readKey(findObject(objects, "Secret", secret.name ?? "", namespace), secret.key);
  return undefined;
}

function readKey(object: K8sObject | undefined, key: string): string | undefined {
  return object === undefined ? undefined : readData(object)[key];
}

/** A ConfigMap's or Secret's values as text: Secret `data` is base64, stringData wins over it. */
function readData(object: K8sObject): Record<string, string> {
  const data = (object["data"] ?? {}) as Record<string, string>;
  const stringData = (object["stringData"] ?? {}) as Record<string, string>;
  const decoded =
    object.kind === "Secret"
      ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]))
      : data;
  return { ...decoded, ...stringData };
}
