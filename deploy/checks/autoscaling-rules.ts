import { listWorkloads, objectId, selects, type K8sObject } from "./k8s-object.js";

interface ScaleTargetRef {
  kind?: string;
  name?: string;
}

/** The worker scales on this gauge's ready jobs (KEDA prometheus trigger). */
export const QUEUE_DEPTH_METRIC = "taskflow_queue_jobs";

function targetOf(o: K8sObject): ScaleTargetRef {
  return ((o["spec"] as { scaleTargetRef?: ScaleTargetRef } | undefined)?.scaleTargetRef ?? {});
}

/**
 * Checks autoscaling and disruption budgets: every HorizontalPodAutoscaler and KEDA
 * ScaledObject targets a Deployment of the render, no Deployment has two autoscalers (KEDA's own
 * HPA would fight an HPA), a Deployment with an autoscaler sets no replica count (each apply
 * would reset it), the worker scales on `taskflow_queue_jobs{state="ready"}` through a prometheus
 * trigger, and every Deployment has a PodDisruptionBudget selecting its pods.
 * @returns one line per violation, empty when the render complies.
 */
export function checkAutoscaling(objects: readonly K8sObject[]): string[] {
  const deployments = listWorkloads(objects).filter((w) => w.object.kind === "Deployment");
  const scalers = objects.filter((o) => o.kind === "HorizontalPodAutoscaler" || o.kind === "ScaledObject");
  const violations: string[] = [];
  const byTarget = new Map<string, string[]>();
  for (const s of scalers) {
    const ref = targetOf(s);
    const target = deployments.find((w) => w.object.metadata.name === ref.name && w.namespace === s.metadata.namespace);
    if (target === undefined || (ref.kind ?? "Deployment") !== "Deployment") {
      violations.push(`${objectId(s)}: targets ${ref.kind ?? "Deployment"}/${ref.name ?? ""}, which is no Deployment of the render`);
      continue;
    }
    byTarget.set(target.id, [...(byTarget.get(target.id) ?? []), objectId(s)]);
  }
  for (const [target, ids] of byTarget) {
    if (ids.length > 1) violations.push(`${target}: scaled by ${ids.join(" and ")}`);
    const w = deployments.find((d) => d.id === target);
    if ((w?.object["spec"] as { replicas?: number } | undefined)?.replicas !== undefined) {
      violations.push(`${target}: sets replicas, which its autoscaler owns`);
    }
  }
  violations.push(...checkWorkerTrigger(scalers));
  const budgets = objects.filter((o) => o.kind === "PodDisruptionBudget");
  for (const w of deployments) {
    const covered = budgets.some((b) => b.metadata.namespace === w.namespace &&
      selects((b["spec"] as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels ?? {}, w.podLabels));
    if (!covered) violations.push(`${w.id}: no PodDisruptionBudget selects its pods`);
  }
  return violations;
}

function checkWorkerTrigger(scalers: readonly K8sObject[]): string[] {
  const worker = scalers.find((s) => s.kind === "ScaledObject" && targetOf(s).name === "worker");
  if (worker === undefined) return ["Deployment/worker: no ScaledObject scales it on queue depth"];
  const triggers = ((worker["spec"] as { triggers?: Array<{ type?: string; metadata?: { query?: string } }> }).triggers ?? []);
  const onDepth = triggers.some((t) => {
    const query = t.metadata?.query ?? "";
    return t.type === "prometheus" && query.includes(`${QUEUE_DEPTH_METRIC}{`) && /state="ready"/.test(query);
  });
  return onDepth ? [] : [`${objectId(worker)}: no prometheus trigger on ${QUEUE_DEPTH_METRIC}{state="ready"}`];
}
