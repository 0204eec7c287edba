import { objectId, type K8sObject } from "./k8s-object.js";

/** Built-in kinds that live outside namespaces. */
const CLUSTER_SCOPED = new Set([
  "Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass", "PriorityClass", "PersistentVolume",
  "IngressClass", "CustomResourceDefinition", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
]);

/**
 * Checks that an overlay is one unit of deployment: every namespaced object is in `namespace`,
 * and the render creates that Namespace, so `kubectl apply -k` works on a fresh cluster.
 * @returns one line per violation, empty when the render complies.
 */
export function checkNamespace(objects: readonly K8sObject[], namespace: string): string[] {
  const violations = objects
    .filter((o) => !CLUSTER_SCOPED.has(o.kind) && o.metadata.namespace !== namespace)
    .map((o) => `${objectId(o)}: namespace ${o.metadata.namespace ?? "(none)"} is not ${namespace}`);
  if (!objects.some((o) => o.kind === "Namespace" && o.metadata.name === namespace)) {
    violations.push(`Namespace/${namespace} is not in the render`);
  }
  return violations;
}
