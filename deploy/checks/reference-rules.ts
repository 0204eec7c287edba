import type { IContainer, IPodSpec } from "kubernetes-models/v1";
import { parse } from "yaml";
import { allContainers, dataKeys, findObject, listWorkloads, type K8sObject, type PodWorkload } from "./k8s-object.js";

/**
 * Secrets an overlay leaves to the operator (created out of band, never rendered): name → keys.
 * Read from `overlays/<env>/operator-secrets.yaml` by {@link readOperatorSecrets}.
 */
export type OperatorSecrets = Readonly<Record<string, readonly string[]>>;

interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

/**
 * Checks that everything a pod reads from another object is in the render: each
 * configMapKeyRef/secretKeyRef names an object in the workload's namespace holding that key,
 * each envFrom source and configMap/secret volume names an object there, and a StatefulSet's
 * serviceName names a Service. References marked `optional: true` are skipped. A Secret listed
 * in `operatorSecrets` counts as present with exactly the listed keys.
 * @returns one line per violation, empty when the render complies.
 */
export function checkReferences(objects: readonly K8sObject[], operatorSecrets: OperatorSecrets = {}): string[] {
  const all = [...objects, ...operatorSecretObjects(objects, operatorSecrets)];
  return listWorkloads(objects).flatMap((w) => [
    ...allContainers(w.spec).flatMap((c) => checkContainerRefs(all, w, c)),
    ...checkVolumeRefs(all, w, w.spec),
    ...checkServiceName(all, w),
  ]);
}

/**
 * Checks that every Secret and key of `operatorSecrets` is read by some pod (an env
 * secretKeyRef, or a Secret volume for its keys), so the list the operator follows holds
 * nothing stale, and that none of them is also rendered (it would overwrite the operator's).
 * @returns one line per violation, empty when the list and the render agree.
 */
export function checkOperatorSecretsUsed(objects: readonly K8sObject[], operatorSecrets: OperatorSecrets): string[] {
  const read = new Set<string>();
  for (const w of listWorkloads(objects)) {
    for (const v of w.spec.volumes ?? []) {
      if (v.secret?.secretName !== undefined) read.add(`${v.secret.secretName}/*`);
    }
    for (const env of allContainers(w.spec).flatMap((c) => c.env ?? [])) {
      const ref = env.valueFrom?.secretKeyRef;
      if (ref !== undefined) read.add(`${ref.name ?? ""}/${ref.key}`);
    }
  }
  return Object.entries(operatorSecrets).flatMap(([name, keys]) => [
    ...(objects.some((o) => o.kind === "Secret" && o.metadata.name === name) ? [`Secret/${name} is rendered, yet left to the operator`] : []),
    ...keys
      .filter((key) => !read.has(`${name}/${key}`) && !read.has(`${name}/*`))
      .map((key) => `Secret/${name} key ${key} is left to the operator but no pod reads it`),
  ]);
}

/** Parses an operator-secrets.yaml document: a map of Secret name to its list of keys. */
export function readOperatorSecrets(text: string): OperatorSecrets {
  const value: unknown = parse(text);
  if (value === null || value === undefined) return {};
  const valid =
    typeof value === "object" &&
    Object.values(value).every((keys) => Array.isArray(keys) && keys.every((k) => typeof k === "string"));
  if (!valid) throw new Error("operator secrets must map each Secret name to a list of keys");
  return value as OperatorSecrets;
}

/** Stand-ins for the operator's Secrets, in the namespace of every workload that could read them. */
function operatorSecretObjects(objects: readonly K8sObject[], operatorSecrets: OperatorSecrets): K8sObject[] {
  const namespaces = new Set(listWorkloads(objects).map((w) => w.namespace));
  return [...namespaces].flatMap((namespace) =>
    Object.entries(operatorSecrets).map(([name, keys]) => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
      data: Object.fromEntries(keys.map((k) => [k, ""])),
    })),
  );
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
