import type { IContainer, IPodSpec } from "kubernetes-models/v1";
import { allContainers, listWorkloads, selects, type K8sObject, type PodWorkload } from "./k8s-object.js";

/** Labels every workload and its pods carry, so `-l app.kubernetes.io/part-of=taskflow` finds all. */
export const REQUIRED_LABELS = ["app.kubernetes.io/name", "app.kubernetes.io/part-of"] as const;

/**
 * Checks every Deployment, StatefulSet, DaemonSet and Job: TaskFlow labels, a selector that
 * matches its own template (a Job's is generated), and for each container a pinned image,
 * resources, a hardened security context, Secret volumes mounted read-only as whole directories,
 * and (for long-running containers) readiness and liveness probes.
 * @returns one line per violation, empty when the render complies.
 */
export function checkWorkloads(objects: readonly K8sObject[]): string[] {
  return listWorkloads(objects).flatMap((w) => [
    ...checkLabels(w),
    ...allContainers(w.spec).flatMap((c) => checkContainer(w, c).map((v) => `${w.id} container ${c.name}: ${v}`)),
  ]);
}

function checkLabels(w: PodWorkload): string[] {
  const violations: string[] = [];
  for (const label of REQUIRED_LABELS) {
    if (w.object.metadata.labels?.[label] === undefined) violations.push(`${w.id}: no label ${label}`);
    if (w.podLabels[label] === undefined) violations.push(`${w.id}: pod template has no label ${label}`);
  }
  if (w.object.metadata.labels?.["app.kubernetes.io/part-of"] !== "taskflow") {
    violations.push(`${w.id}: app.kubernetes.io/part-of is not taskflow`);
  }
  if (w.object.kind !== "Job" && !selects(w.selector, w.podLabels)) violations.push(`${w.id}: selector does not match its pod template`);
  return violations;
}

function checkContainer(w: PodWorkload, c: IContainer): string[] {
  // Init containers and a Job's run to completion: nothing to probe.
  const runsToCompletion = w.object.kind === "Job" || (w.spec.initContainers ?? []).includes(c);
  return [
    ...checkImage(c.image),
    ...(runsToCompletion ? [] : checkProbes(c)),
    ...checkResources(c),
    ...checkSecurity(w.spec, c),
    ...checkSecretMounts(w.spec, c),
  ];
}

/**
 * A Secret volume is mounted read-only, and as a directory: a `subPath` mount is a copy the
 * kubelet never updates, so a rotated certificate or token would never reach the process.
 */
function checkSecretMounts(pod: IPodSpec, c: IContainer): string[] {
  const secretVolumes = new Set((pod.volumes ?? []).filter((v) => v.secret !== undefined).map((v) => v.name));
  return (c.volumeMounts ?? [])
    .filter((m) => secretVolumes.has(m.name))
    .flatMap((m) => [
      ...(m.readOnly === true ? [] : [`Secret volume ${m.name} is not mounted readOnly`]),
      ...(m.subPath === undefined && m.subPathExpr === undefined ? [] : [`Secret volume ${m.name} is mounted with subPath (never updated)`]),
    ]);
}

/** `repo:tag` or `repo@sha256:…`; a missing tag means `latest`, which is never allowed. */
export function imageTag(image: string): string | undefined {
  if (image.includes("@")) return image.slice(image.indexOf("@") + 1);
  const lastPart = image.slice(image.lastIndexOf("/") + 1);
  const colon = lastPart.lastIndexOf(":");
  return colon < 0 ? undefined : lastPart.slice(colon + 1);
}

function checkImage(image: string | undefined): string[] {
  if (image === undefined) return ["no image"];
  const tag = imageTag(image);
  if (tag === undefined) return [`image ${image} has no tag (means latest)`];
  return tag === "latest" ? [`image ${image} uses latest`] : [];
}

function checkProbes(c: IContainer): string[] {
  const violations: string[] = [];
  if (c.readinessProbe === undefined) violations.push("no readinessProbe");
  if (c.livenessProbe === undefined) violations.push("no livenessProbe");
  return violations;
}

function checkResources(c: IContainer): string[] {
  const wanted = [
    ["requests", "cpu"],
    ["requests", "memory"],
    ["limits", "cpu"],
    ["limits", "memory"],
  ] as const;
  return wanted
    .filter(([kind, resource]) => c.resources?.[kind]?.[resource] === undefined)
    .map(([kind, resource]) => `no resources.${kind}.${resource}`);
}

function checkSecurity(pod: IPodSpec, c: IContainer): string[] {
  const sc = c.securityContext ?? {};
  const psc = pod.securityContext ?? {};
  const violations: string[] = [];
  if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) violations.push("runAsNonRoot is not true");
  if ((sc.runAsUser ?? psc.runAsUser) === 0) violations.push("runs as uid 0");
  if (sc.readOnlyRootFilesystem !== true) violations.push("readOnlyRootFilesystem is not true");
  if (sc.allowPrivilegeEscalation !== false) violations.push("allowPrivilegeEscalation is not false");
  if (sc.privileged === true) violations.push("is privileged");
  if (!(sc.capabilities?.drop ?? []).includes("ALL")) violations.push("does not drop ALL capabilities");
  if ((sc.capabilities?.add ?? []).length > 0) violations.push("adds capabilities");
  if ((sc.seccompProfile ?? psc.seccompProfile)?.type !== "RuntimeDefault") violations.push("seccomp is not RuntimeDefault");
  return violations;
}
