import { listWorkloads, objectId, selects, type K8sObject, type PodWorkload } from "./k8s-object.js";

interface PolicyPeer {
  podSelector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  namespaceSelector?: unknown;
  ipBlock?: unknown;
}
interface PolicyRule {
  from?: PolicyPeer[];
  ports?: Array<{ port?: number | string; endPort?: number }>;
}
interface EgressRule {
  to?: PolicyPeer[];
  ports?: PolicyRule["ports"];
}
interface PolicySpec {
  podSelector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  policyTypes?: string[];
  ingress?: PolicyRule[];
  egress?: EgressRule[];
}

/** History's internal listener: only the scheduler's pods may reach it. */
export const HISTORY_INTERNAL_PORT = 50054;

interface Policy {
  id: string;
  spec: PolicySpec;
  namespace: string | undefined;
}

function policies(objects: readonly K8sObject[]): Policy[] {
  return objects
    .filter((o) => o.kind === "NetworkPolicy")
    .map((o) => ({ id: objectId(o), spec: o["spec"] as PolicySpec, namespace: o.metadata.namespace }));
}

/** Whether a policy's podSelector selects pods with these labels (`{}` selects every pod). */
function policySelects(spec: PolicySpec, labels: Record<string, string>): boolean {
  const sel = spec.podSelector ?? {};
  const match = sel.matchLabels ?? {};
  if ((sel.matchExpressions ?? []).length > 0) return false;
  return Object.keys(match).length === 0 || selects(match, labels);
}

/**
 * Checks the NetworkPolicies of a render: one policy denies all ingress and egress of every pod
 * by default, and history's internal port (50054) admits only the scheduler's pods of the same
 * namespace: every ingress rule of a policy selecting history's pods that opens that port (or
 * every port) names only pod selectors that select scheduler pods and no other workload's.
 * @returns one line per violation, empty when the render complies.
 */
export function checkNetworkIsolation(objects: readonly K8sObject[]): string[] {
  const all = policies(objects);
  const violations: string[] = [];
  const denyAll = all.some(
    (p) => Object.keys(p.spec.podSelector?.matchLabels ?? {}).length === 0 && (p.spec.podSelector?.matchExpressions ?? []).length === 0 &&
      ["Ingress", "Egress"].every((t) => p.spec.policyTypes?.includes(t)) && (p.spec.ingress ?? []).length === 0 && (p.spec.egress ?? []).length === 0,
  );
  if (!denyAll) violations.push("no NetworkPolicy denies all ingress and egress by default");
  const workloads = listWorkloads(objects);
  const history = workloads.find((w) => w.object.kind === "Deployment" && w.object.metadata.name === "history");
  if (history === undefined) return violations;
  for (const p of all.filter((q) => q.namespace === history.namespace && policySelects(q.spec, history.podLabels))) {
    if (!(p.spec.policyTypes ?? ["Ingress"]).includes("Ingress")) continue;
    for (const rule of p.spec.ingress ?? []) {
      if (!opensPort(rule, HISTORY_INTERNAL_PORT, history)) continue;
      violations.push(...checkInternalPeers(p.id, rule, workloads, history.namespace));
    }
  }
  return violations;
}

function opensPort(rule: Pick<PolicyRule, "ports">, port: number, w: PodWorkload): boolean {
  if ((rule.ports ?? []).length === 0) return true;
  const names = new Set(w.spec.containers.flatMap((c) => (c.ports ?? []).filter((p) => p.containerPort === port).map((p) => p.name)));
  return (rule.ports ?? []).some((p) =>
    p.port === undefined || p.port === port || names.has(p.port as string) ||
    (typeof p.port === "number" && p.endPort !== undefined && p.port <= port && port <= p.endPort),
  );
}

function checkInternalPeers(id: string, rule: PolicyRule, workloads: readonly PodWorkload[], namespace: string | undefined): string[] {
  const where = `${id}: history's internal port ${HISTORY_INTERNAL_PORT}`;
  if ((rule.from ?? []).length === 0) return [`${where} is open to every source`];
  return (rule.from ?? []).flatMap((peer) => {
    if (peer.ipBlock !== undefined || peer.namespaceSelector !== undefined || peer.podSelector === undefined) {
      return [`${where} admits a peer other than a pod selector of its own namespace`];
    }
    const labels = peer.podSelector.matchLabels ?? {};
    const reached = workloads.filter((w) => w.namespace === namespace && Object.keys(labels).length > 0 && selects(labels, w.podLabels));
    const others = reached.filter((w) => w.object.metadata.name !== "scheduler").map((w) => w.id);
    if ((peer.podSelector.matchExpressions ?? []).length > 0 || Object.keys(labels).length === 0) return [`${where} admits pods beyond the scheduler's`];
    return others.length > 0 ? [`${where} admits ${others.join(", ")}`] : [];
  });
}

/** What the dashboard calls: the public port of the scheduler and of history, nothing else. */
export const DASHBOARD_UPSTREAMS: Readonly<Record<string, number>> = { scheduler: 50051, history: 50052 };

/** Whether a peer is a plain pod selector of the policy's own namespace that selects these labels. */
function podPeerSelects(peer: PolicyPeer, labels: Record<string, string>): boolean {
  if (peer.podSelector === undefined || peer.namespaceSelector !== undefined || peer.ipBlock !== undefined) return false;
  return (peer.podSelector.matchExpressions ?? []).length === 0 && selects(peer.podSelector.matchLabels ?? {}, labels);
}

/**
 * Checks the dashboard's network reach, when the render runs one: it may call the scheduler's
 * and history's public ports (an egress rule of a policy selecting its pods opens each towards
 * that service's pods, and an ingress rule of a policy selecting that service's pods admits the
 * dashboard's pods on it) and nothing else (every other egress rule that applies to its pods
 * opens DNS, port 53, alone).
 * @returns one line per violation, empty when the render complies.
 */
export function checkDashboardReach(objects: readonly K8sObject[]): string[] {
  const workloads = listWorkloads(objects).filter((w) => w.object.kind === "Deployment");
  const dashboard = workloads.find((w) => w.object.metadata.name === "dashboard");
  if (dashboard === undefined) return [];
  const local = policies(objects).filter((p) => p.namespace === dashboard.namespace);
  const applying = (w: PodWorkload, type: string): Policy[] =>
    local.filter((p) => policySelects(p.spec, w.podLabels) && (p.spec.policyTypes ?? ["Ingress"]).includes(type));
  const outbound = applying(dashboard, "Egress");
  if (outbound.length === 0) return ["no NetworkPolicy restricts the dashboard's egress"];
  const egress = outbound.flatMap((p) => (p.spec.egress ?? []).map((rule) => ({ id: p.id, rule })));
  const others = listWorkloads(objects).filter((w) => w.namespace === dashboard.namespace);
  const violations = egress.flatMap(({ id, rule }) => extraDashboardEgress(rule, others).map((v) => `${id}: lets the dashboard reach ${v}`));
  for (const [name, port] of Object.entries(DASHBOARD_UPSTREAMS)) {
    const target = workloads.find((w) => w.object.metadata.name === name && w.namespace === dashboard.namespace);
    if (target === undefined) continue;
    const out = egress.some(({ rule }) => opensPort(rule, port, target) && (rule.to ?? []).some((peer) => podPeerSelects(peer, target.podLabels)));
    if (!out) violations.push(`the dashboard cannot reach ${name} port ${port}: no egress rule of its pods opens it`);
    const admitted = applying(target, "Ingress").some((p) =>
      (p.spec.ingress ?? []).some((rule) => opensPort(rule, port, target) && (rule.from ?? []).some((peer) => podPeerSelects(peer, dashboard.podLabels))),
    );
    if (!admitted) violations.push(`the dashboard cannot reach ${name} port ${port}: no ingress rule of ${name}'s pods admits it`);
  }
  return violations;
}

/** What one egress rule applying to the dashboard opens beyond DNS and the public ports of `workloads` (its namespace's). */
function extraDashboardEgress(rule: EgressRule, workloads: readonly PodWorkload[]): string[] {
  const ports = rule.ports ?? [];
  if (ports.length > 0 && ports.every((p) => p.port === 53 && p.endPort === undefined)) return [];
  const peers = rule.to ?? [];
  if (peers.length === 0) return ["every destination"];
  if (ports.length === 0) return ["every port of its peers"];
  return peers.flatMap((peer) => {
    const labels = peer.podSelector?.matchLabels ?? {};
    if (peer.podSelector === undefined || peer.namespaceSelector !== undefined || peer.ipBlock !== undefined || Object.keys(labels).length === 0) {
      return ["a peer other than pods of a TaskFlow service"];
    }
    const reached = workloads.filter((w) => selects(labels, w.podLabels));
    return reached.flatMap((w) =>
      ports
        .filter((p) => p.endPort !== undefined || p.port !== DASHBOARD_UPSTREAMS[w.object.metadata.name])
        .map((p) => `${w.id} on port ${String(p.port)}${p.endPort === undefined ? "" : `-${p.endPort}`}`),
    );
  });
}

/** Variable names whose literal value would be a credential. */
const SECRET_NAME = /(SECRET|PASSWORD|PASSWD|TOKEN|DATABASE_URL|REDIS_URL|_KEY)$/;

/** A URL carrying a password (`scheme://user:password@host`). */
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:[^/@\s]+@/i;

/**
 * Checks that a render carries no credential: no Secret with data (the operator creates them),
 * no literal env value under a credential's name or holding a URL with a password, and no
 * ConfigMap value holding such a URL.
 * @returns one line per violation, empty when the render complies.
 */
export function checkNoPlaintextSecrets(objects: readonly K8sObject[]): string[] {
  const violations = objects
    .filter((o) => o.kind === "Secret")
    .filter((o) => ["data", "stringData"].some((f) => Object.keys((o[f] ?? {})).length > 0))
    .map((o) => `${objectId(o)}: carries secret values; the operator creates it out of band`);
  for (const w of listWorkloads(objects)) {
    for (const c of [...(w.spec.initContainers ?? []), ...w.spec.containers]) {
      for (const env of c.env ?? []) {
        if (env.value === undefined) continue;
        if (SECRET_NAME.test(env.name) || URL_WITH_PASSWORD.test(env.value)) {
          violations.push(`${w.id} container ${c.name} env ${env.name}: a literal value where a secretKeyRef belongs`);
        }
      }
    }
  }
  for (const o of objects.filter((x) => x.kind === "ConfigMap")) {
    for (const [key, value] of Object.entries((o["data"] ?? {}) as Record<string, string>)) {
      if (URL_WITH_PASSWORD.test(value)) violations.push(`${objectId(o)} key ${key}: a URL with a password`);
    }
  }
  return violations;
}
