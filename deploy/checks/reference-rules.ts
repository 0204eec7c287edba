import type { IContainer, IPodSpec } from "kubernetes-models/v1";
import { allContainers, dataKeys, findObject, listWorkloads, type K8sObject, type PodWorkload } from "./k8s-object.js";

interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

/**
 * Checks that everything a pod reads from another object is in the render: each
 * configMapKeyRef/secretKeyRef names an object in the workload's namespace holding that key,
 * each envFrom source and configMap/secret volume names an object there, and a StatefulSet's
 * serviceName names a Service. References marked `optional: true` are skipped.
 * @returns one line per violation, empty when the render complies.
 */
export function checkReferences(objects: readonly K8sObject[]): string[] {
  return listWorkloads(objects).flatMap((w) => [
    ...allContainers(w.spec).flatMap((c) => checkContainerRefs(objects, w, c)),
    ...checkVolumeRefs(objects, w, w.spec),
    ...checkServiceName(objects, w),
  ]);
}

function checkContainerRefs(objects: readonly K8sObject[], w: PodWorkload, c: IContainer): string[] {
  const where = `${w.id} container ${c.name}`;
  const violations: string[] = [];
  for (const env of c.env ?? []) {
    const cm = env.valueFrom?.configMapKeyRef as KeyRef | undefined;
    const secret = env.valueFrom?.secretKeyRef as KeyRef | undefined;
    if (cm !== undefined) violations.push(...checkKeyRef(objects, w, "ConfigMap", cm, `${where} env ${env.name}`));
    if (secret !== undefined) violations.push(...checkKeyRef(objects, w, "Secret", secret, `${where} env ${env.name}`));
  }
  for (const source of c.envFrom ?? []) {
    if (source.configMapRef !== undefined) violations.push(...checkNamed(objects, w, "ConfigMap", source.configMapRef, `${where} envFrom`));
    if (source.secretRef !== undefined) violations.push(...checkNamed(objects, w, "Secret", source.secretRef, `${where} envFrom`));
  }
  return violations;
}

function checkKeyRef(objects: readonly K8sObject[], w: PodWorkload, kind: string, ref: KeyRef, where: string): string[] {
  if (ref.optional === true) return [];
  const target = findObject(objects, kind, ref.name, w.namespace);
  if (target === undefined) return [`${where}: ${kind}/${ref.name} is not in the render`];
  return dataKeys(target).includes(ref.key) ? [] : [`${where}: ${kind}/${ref.name} has no key ${ref.key}`];
}

function checkNamed(
  objects: readonly K8sObject[],
  w: PodWorkload,
  kind: string,
  ref: { name?: string; optional?: boolean },
  where: string,
): string[] {
  if (ref.optional === true) return [];
  const name = ref.name ?? "";
  return findObject(objects, kind, name, w.namespace) === undefined ? [`${where}: ${kind}/${name} is not in the render`] : [];
}

function checkVolumeRefs(objects: readonly K8sObject[], w: PodWorkload, spec: IPodSpec): string[] {
  return (spec.volumes ?? []).flatMap((v) => {
    const where = `${w.id} volume ${v.name}`;
    if (v.configMap !== undefined) return checkNamed(objects, w, "ConfigMap", v.configMap, where);
    if (v.secret !== undefined) return checkNamed(objects, w, "Secret", { name: v.secret.secretName, optional: v.secret.optional }, where);
    return [];
  });
}

function checkServiceName(objects: readonly K8sObject[], w: PodWorkload): string[] {
  if (w.object.kind !== "StatefulSet") return [];
  const serviceName = (w.object["spec"] as { serviceName?: string }).serviceName;
  if (serviceName === undefined || serviceName === "") return [];
  return findObject(objects, "Service", serviceName, w.namespace) === undefined
    ? [`${w.id}: serviceName ${serviceName} names no Service in the render`]
    : [];
}
