import type { IService, IServicePort } from "kubernetes-models/v1";
import { listWorkloads, objectId, selects, type K8sObject, type PodWorkload } from "./k8s-object.js";

/**
 * Checks every Service: it selects the pods of at least one workload in its namespace, and each
 * of its ports targets a port those pods declare (by name or number). ExternalName Services
 * select nothing and are skipped.
 * @returns one line per violation, empty when the render complies.
 */
export function checkServices(objects: readonly K8sObject[]): string[] {
  const workloads = listWorkloads(objects);
  return objects
    .filter((o) => o.kind === "Service")
    .flatMap((o) => checkService(o, o as unknown as IService, workloads));
}

function checkService(object: K8sObject, service: IService, workloads: readonly PodWorkload[]): string[] {
  const id = objectId(object);
  if (service.spec?.type === "ExternalName") return [];
  const selector = service.spec?.selector ?? {};
  const targets = workloads.filter(
    (w) => w.namespace === object.metadata.namespace && selects(selector, w.podLabels),
  );
  if (targets.length === 0) return [`${id}: selector ${JSON.stringify(selector)} matches no workload's pods`];
  return (service.spec?.ports ?? [])
    .filter((port) => !targets.some((w) => declaresPort(w, port)))
    .map((port) => `${id}: port ${port.name ?? port.port} targets ${String(port.targetPort ?? port.port)}, which no selected container declares`);
}

/** Whether some container of the workload declares the port a Service port sends to. */
export function declaresPort(w: PodWorkload, port: IServicePort): boolean {
  const target = port.targetPort ?? port.port;
  const protocol = port.protocol ?? "TCP";
  return w.spec.containers.some((c) =>
    (c.ports ?? []).some(
      (p) => (p.protocol ?? "TCP") === protocol && (typeof target === "string" ? p.name === target : p.containerPort === target),
    ),
  );
}
