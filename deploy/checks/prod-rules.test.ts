import type { IPodSpec } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { checkAutoscaling } from "./autoscaling-rules.js";
import { checkDashboardReach, checkNetworkIsolation, checkNoPlaintextSecrets } from "./prod-rules.js";
import { checkOperatorSecretsUsed, checkReferences, type OperatorSecrets } from "./reference-rules.js";
import { checkTaskflowServices } from "./taskflow-rules.js";
import { prodObjectOf, renderProd } from "./test-fixtures.js";
import { checkWorkloads } from "./workload-rules.js";

const podOf = (objects: ReturnType<typeof renderProd>, kind: string, name: string): IPodSpec =>
  (prodObjectOf(objects, kind, name)["spec"] as { template: { spec: IPodSpec } }).template.spec;

const OPERATOR: OperatorSecrets = {
  "taskflow-stores": ["REDIS_URL", "DATABASE_URL", "PAGE_TOKEN_SECRET"],
  "taskflow-migrator": ["DATABASE_URL"],
  "taskflow-auth-tokens": ["tokens"],
  "scheduler-history-token": ["token"],
  "worker-scheduler-token": ["token"],
  "scheduler-tls": ["tls.crt"],
  "history-tls": ["tls.crt"],
  "worker-tls": ["tls.crt"],
  "taskflow-ca": ["ca.crt"],
};

describe("checkNetworkIsolation", () => {
  it("flags a missing default deny and history's internal port opened to the worker", () => {
    const objects = renderProd().filter((o) => !(o.kind === "NetworkPolicy" && o.metadata.name === "default-deny"));
    const internal = prodObjectOf(objects, "NetworkPolicy", "history-internal-from-scheduler")["spec"] as {
      ingress: Array<{ from: Array<{ podSelector: { matchLabels: Record<string, string> } }> }>;
    };
    internal.ingress[0]!.from.push({ podSelector: { matchLabels: { "app.kubernetes.io/name": "worker" } } });
    expect(checkNetworkIsolation(objects)).toEqual([
      "no NetworkPolicy denies all ingress and egress by default",
      "NetworkPolicy/history-internal-from-scheduler: history's internal port 50054 admits Deployment/worker",
    ]);
  });

  it("flags a rule on every port of history that admits another namespace", () => {
    const objects = renderProd();
    const pub = prodObjectOf(objects, "NetworkPolicy", "history-public-ingress")["spec"] as { ingress: Array<{ ports?: unknown }> };
    delete pub.ingress[0]!.ports;
    expect(checkNetworkIsolation(objects)).toEqual([
      "NetworkPolicy/history-public-ingress: history's internal port 50054 admits Deployment/dashboard",
      "NetworkPolicy/history-public-ingress: history's internal port 50054 admits a peer other than a pod selector of its own namespace",
      "NetworkPolicy/history-public-ingress: history's internal port 50054 admits a peer other than a pod selector of its own namespace",
    ]);
  });
});

type EgressSpec = { egress: Array<{ to?: unknown[]; ports?: Array<{ protocol?: string; port?: number; endPort?: number }> }> };
type IngressSpec = { ingress: Array<{ from: Array<{ podSelector?: { matchLabels: Record<string, string> } }> }> };

describe("checkDashboardReach", () => {
  it("passes the prod render", () => {
    expect(checkDashboardReach(renderProd())).toEqual([]);
  });

  it("flags egress to history's internal port, to Redis, to every destination, and a port range", () => {
    const objects = renderProd();
    const egress = (prodObjectOf(objects, "NetworkPolicy", "dashboard-egress")["spec"] as EgressSpec).egress;
    egress[1]!.ports!.push({ protocol: "TCP", port: 50054 });
    egress.push({ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }], ports: [{ protocol: "TCP", port: 6379 }] });
    egress.push({ ports: [{ protocol: "TCP", port: 443 }] });
    egress[0]!.ports![0]!.endPort = 50060;
    expect(checkDashboardReach(objects)).toEqual([
      "NetworkPolicy/dashboard-egress: lets the dashboard reach Deployment/scheduler on port 50051-50060",
      "NetworkPolicy/dashboard-egress: lets the dashboard reach Deployment/history on port 50054",
      "NetworkPolicy/dashboard-egress: lets the dashboard reach a peer other than pods of a TaskFlow service",
      "NetworkPolicy/dashboard-egress: lets the dashboard reach every destination",
    ]);
  });

  it("flags a service that does not admit the dashboard, and a missing way out", () => {
    const objects = renderProd();
    const from = (prodObjectOf(objects, "NetworkPolicy", "history-public-ingress")["spec"] as IngressSpec).ingress[0]!.from;
    from.splice(from.findIndex((peer) => peer.podSelector?.matchLabels["app.kubernetes.io/name"] === "dashboard"), 1);
    const egress = (prodObjectOf(objects, "NetworkPolicy", "dashboard-egress")["spec"] as EgressSpec).egress;
    egress.splice(0, 1);
    expect(checkDashboardReach(objects)).toEqual([
      "the dashboard cannot reach scheduler port 50051: no egress rule of its pods opens it",
      "the dashboard cannot reach history port 50052: no ingress rule of history's pods admits it",
    ]);
    const open = objects.filter((o) => !(o.kind === "NetworkPolicy" && ["dashboard-egress", "default-deny", "dns-egress"].includes(o.metadata.name)));
    expect(checkDashboardReach(open)).toEqual(["no NetworkPolicy restricts the dashboard's egress"]);
  });
});

describe("checkNoPlaintextSecrets", () => {
  it("flags a rendered Secret, a literal credential and a URL with a password", () => {
    const objects = renderProd();
    objects.push({ apiVersion: "v1", kind: "Secret", metadata: { name: "x", namespace: "taskflow-prod" }, stringData: { A: "b" } });
    podOf(objects, "Job", "history-migrate").containers[0]!.env!.push({ name: "DATABASE_URL", value: "postgres://u@db/tf" });
    (objects.find((o) => o.kind === "ConfigMap")!["data"] as Record<string, string>)["HISTORY_URL"] = "https://u:pw@history:50054";
    expect(checkNoPlaintextSecrets(objects)).toEqual([
      "Secret/x: carries secret values; the operator creates it out of band",
      "Job/history-migrate container migrate env DATABASE_URL: a literal value where a secretKeyRef belongs",
      expect.stringMatching(/^ConfigMap\/taskflow-config-.* key HISTORY_URL: a URL with a password$/),
    ]);
  });
});

describe("checkAutoscaling", () => {
  it("flags a second autoscaler, a replica count, a trigger off queue depth and a missing budget", () => {
    const objects = renderProd().filter((o) => !(o.kind === "PodDisruptionBudget" && o.metadata.name === "history"));
    const hpa = structuredClone(prodObjectOf(objects, "HorizontalPodAutoscaler", "scheduler"));
    hpa.metadata.name = "worker";
    (hpa["spec"] as { scaleTargetRef: { name: string } }).scaleTargetRef.name = "worker";
    objects.push(hpa);
    (prodObjectOf(objects, "Deployment", "scheduler")["spec"] as { replicas?: number }).replicas = 2;
    const so = prodObjectOf(objects, "ScaledObject", "worker")["spec"] as { triggers: Array<{ metadata: { query: string } }> };
    so.triggers[0]!.metadata.query = "sum(rate(http_requests_total[1m]))";
    expect(checkAutoscaling(objects)).toEqual([
      "Deployment/scheduler: sets replicas, which its autoscaler owns",
      "Deployment/worker: scaled by ScaledObject/worker and HorizontalPodAutoscaler/worker",
      'ScaledObject/worker: no prometheus trigger on taskflow_queue_jobs{state="ready"}',
      "Deployment/history: no PodDisruptionBudget selects its pods",
    ]);
  });
});

describe("prod render under the common rules", () => {
  it("flags a Secret volume mounted writable or by subPath, and a Job container without limits", () => {
    const objects = renderProd();
    const mounts = podOf(objects, "Deployment", "scheduler").containers[0]!.volumeMounts!;
    mounts.find((m) => m.name === "tls")!.subPath = "tls.crt";
    delete mounts.find((m) => m.name === "auth-tokens")!.readOnly;
    delete podOf(objects, "Job", "history-migrate").containers[0]!.resources!.limits;
    expect(checkWorkloads(objects)).toEqual([
      "Deployment/scheduler container scheduler: Secret volume tls is mounted with subPath (never updated)",
      "Deployment/scheduler container scheduler: Secret volume auth-tokens is not mounted readOnly",
      "Job/history-migrate container migrate: no resources.limits.cpu",
      "Job/history-migrate container migrate: no resources.limits.memory",
    ]);
  });

  it("wants TCP probes and appProtocol https where a service serves TLS", () => {
    const objects = renderProd();
    podOf(objects, "Deployment", "worker").containers[0]!.readinessProbe = { grpc: { port: 50053 } };
    const ports = (prodObjectOf(objects, "Service", "scheduler")["spec"] as { ports: Array<{ appProtocol: string }> }).ports;
    ports[0]!.appProtocol = "kubernetes.io/h2c";
    expect(checkTaskflowServices(objects)).toEqual([
      "Deployment/worker container worker: readinessProbe is not a tcpSocket probe on port 50053 (TLS)",
      "Service/scheduler: port grpc is not named grpc with appProtocol https",
    ]);
  });

  it("counts operator Secrets as present with their listed keys, and flags stale entries", () => {
    const objects = renderProd();
    expect(checkReferences(objects, OPERATOR)).toEqual([]);
    const { "taskflow-migrator": _migrator, ...withoutMigrator } = OPERATOR;
    expect(checkReferences(objects, withoutMigrator)).toEqual([
      "Job/history-migrate container migrate env DATABASE_URL: Secret/taskflow-migrator is not in the render",
    ]);
    expect(checkOperatorSecretsUsed(objects, { ...OPERATOR, "taskflow-stores": ["REDIS_URL", "OLD_KEY"] })).toEqual([
      "Secret/taskflow-stores key OLD_KEY is left to the operator but no pod reads it",
    ]);
  });
});
