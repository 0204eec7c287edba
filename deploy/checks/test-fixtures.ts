import { join } from "node:path";
import type { IContainer, IPodSpec } from "kubernetes-models/v1";
import { DEPLOY_DIR } from "./deploy-paths.js";
import { findObject, type K8sObject } from "./k8s-object.js";
import { renderOverlay } from "./render-overlay.js";

let devRender: K8sObject[] | undefined;

/** A fresh copy of the dev overlay's render, for a test to break one thing in. */
export function renderDev(): K8sObject[] {
  devRender ??= renderOverlay(join(DEPLOY_DIR, "overlays", "dev"));
  return structuredClone(devRender);
}

/** The object of that kind and name in the dev namespace. @throws Error when absent. */
export function objectOf(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const object = findObject(objects, kind, name, "taskflow-dev");
  if (object === undefined) throw new Error(`${kind}/${name} is not in the render`);
  return object;
}

/** The pod spec of a Deployment or StatefulSet in the dev render. */
export function podSpecOf(objects: readonly K8sObject[], name: string, kind = "Deployment"): IPodSpec {
  return (objectOf(objects, kind, name)["spec"] as { template: { spec: IPodSpec } }).template.spec;
}

/** The first container of a Deployment or StatefulSet in the dev render. */
export function containerOf(objects: readonly K8sObject[], name: string, kind = "Deployment"): IContainer {
  const container = podSpecOf(objects, name, kind).containers[0];
  if (container === undefined) throw new Error(`${kind}/${name} has no container`);
  return container;
}

/** The generated taskflow-config ConfigMap's data (its name carries a content hash). */
export function configData(objects: readonly K8sObject[]): Record<string, string> {
  const config = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name.startsWith("taskflow-config"));
  if (config === undefined) throw new Error("no taskflow-config ConfigMap in the render");
  return config["data"] as Record<string, string>;
}

let prodRender: K8sObject[] | undefined;

/** A fresh copy of the prod overlay's render, for a test to break one thing in. */
export function renderProd(): K8sObject[] {
  prodRender ??= renderOverlay(join(DEPLOY_DIR, "overlays", "prod"));
  return structuredClone(prodRender);
}

/** The object of that kind and name in the prod namespace. @throws Error when absent. */
export function prodObjectOf(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const object = findObject(objects, kind, name, "taskflow-prod");
  if (object === undefined) throw new Error(`${kind}/${name} is not in the render`);
  return object;
}
