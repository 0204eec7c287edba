import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { DEPLOY_DIR, listOverlays } from "./checks/deploy-paths.js";
import { findObject, listWorkloads, objectId, type K8sObject } from "./checks/k8s-object.js";
import { checkNamespace } from "./checks/namespace-rules.js";
import { checkAutoscaling } from "./checks/autoscaling-rules.js";
import { checkDashboardReach, checkNetworkIsolation, checkNoPlaintextSecrets } from "./checks/prod-rules.js";
import { checkOperatorSecretsUsed, checkReferences, readOperatorSecrets, type OperatorSecrets } from "./checks/reference-rules.js";
import { renderOverlay } from "./checks/render-overlay.js";
import { checkServices } from "./checks/service-rules.js";
import { checkTaskflowServices } from "./checks/taskflow-rules.js";
import { validateSchema } from "./checks/validate-schema.js";
import { checkWorkloads } from "./checks/workload-rules.js";

const overlays = listOverlays();

/** The Secrets an overlay leaves to the operator (overlays/<env>/operator-secrets.yaml), if any. */
function operatorSecretsOf(overlay: string): OperatorSecrets {
  const file = join(DEPLOY_DIR, "overlays", overlay, "operator-secrets.yaml");
  return existsSync(file) ? readOperatorSecrets(readFileSync(file, "utf8")) : {};
}

async function schemaFailures(objects: readonly K8sObject[]): Promise<string[]> {
  const failures: string[] = [];
  for (const object of objects) {
    try {
      await validateSchema(object);
    } catch (err) {
      failures.push(`${objectId(object)}: ${(err as Error).message}`);
    }
  }
  return failures;
}

describe("deploy/overlays", () => {
  it("holds the dev and prod overlays", () => {
    expect(overlays).toEqual(expect.arrayContaining(["dev", "prod"]));
  });
});

describe.each(overlays)("overlay %s", (overlay) => {
  let objects: K8sObject[] = [];

  beforeAll(() => {
    objects = renderOverlay(join(DEPLOY_DIR, "overlays", overlay));
  });

  it("renders the three TaskFlow Deployments and the dashboard's", () => {
    const names = objects.filter((o) => o.kind === "Deployment").map((o) => o.metadata.name);
    expect(names).toEqual(expect.arrayContaining(["scheduler", "history", "worker", "dashboard"]));
  });

  it("matches the Kubernetes schema of every kind it uses", async () => {
    expect(await schemaFailures(objects)).toEqual([]);
  });

  it(`puts everything in namespace taskflow-${overlay} and creates it`, () => {
    expect(checkNamespace(objects, `taskflow-${overlay}`)).toEqual([]);
  });

  it("gives every container probes, resources, a hardened security context and a pinned image", () => {
    expect(checkWorkloads(objects)).toEqual([]);
  });

  it("has every Service select pods and target a port they declare", () => {
    expect(checkServices(objects)).toEqual([]);
  });

  it("references only ConfigMaps, Secrets and keys present in the render or left to the operator", () => {
    expect(checkReferences(objects, operatorSecretsOf(overlay))).toEqual([]);
    expect(checkOperatorSecretsUsed(objects, operatorSecretsOf(overlay))).toEqual([]);
  });

  it("gives TaskFlow services only the variables their config reads, on probed gRPC ports (the dashboard's on HTTP)", () => {
    expect(checkTaskflowServices(objects)).toEqual([]);
  });
});

describe("base", () => {
  let objects: K8sObject[] = [];

  beforeAll(() => {
    objects = renderOverlay(join(DEPLOY_DIR, "base"));
  });

  it("carries no credentials: the Secret comes from each overlay", () => {
    expect(objects.filter((o) => o.kind === "Secret")).toEqual([]);
  });

  it("runs two replicas of every service and names images taskflow/<name>:0.1.0", () => {
    for (const w of listWorkloads(objects)) {
      expect((w.object["spec"] as { replicas?: number }).replicas).toBe(2);
      expect(w.spec.containers.map((c) => c.image)).toEqual([`taskflow/${w.object.metadata.name}:0.1.0`]);
    }
  });

  it("exposes scheduler, history and the dashboard, not the worker, through ClusterIP Services", () => {
    const services = objects.filter((o) => o.kind === "Service");
    expect(services.map((o) => o.metadata.name).sort()).toEqual(["dashboard", "history", "scheduler"]);
    expect(services.map((o) => (o["spec"] as { type?: string }).type)).toEqual(["ClusterIP", "ClusterIP", "ClusterIP"]);
  });

  it("points the dashboard at the scheduler and history's public port, on 0.0.0.0:8080, with no Secret", () => {
    const dashboard = listWorkloads(objects).find((w) => w.id === "Deployment/dashboard");
    const env = dashboard?.spec.containers[0]?.env ?? [];
    const keyOf = (name: string) => env.find((e) => e.name === name)?.valueFrom?.configMapKeyRef?.key;
    expect(env.map((e) => e.name)).toEqual(["DASHBOARD_HOST", "DASHBOARD_PORT", "SCHEDULER_URL", "HISTORY_URL", "LOG_LEVEL"]);
    expect(keyOf("HISTORY_URL")).toBe("DASHBOARD_HISTORY_URL");
    const config = objects.find((o) => o.kind === "ConfigMap")?.["data"] as Record<string, string>;
    expect([config["DASHBOARD_HOST"], config["DASHBOARD_PORT"], config["DASHBOARD_HISTORY_URL"]]).toEqual(["0.0.0.0", "8080", "http://history:50052"]);
    expect(dashboard?.spec.volumes?.filter((v) => v.secret !== undefined)).toEqual([]);
  });

  it("passes the workload and Service rules on its own", async () => {
    expect(await schemaFailures(objects)).toEqual([]);
    expect(checkWorkloads(objects)).toEqual([]);
    expect(checkServices(objects)).toEqual([]);
  });
});

describe("dev overlay", () => {
  let objects: K8sObject[] = [];
  const inDev = (kind: string, name: string): K8sObject | undefined => findObject(objects, kind, name, "taskflow-dev");

  beforeAll(() => {
    objects = renderOverlay(join(DEPLOY_DIR, "overlays", "dev"));
  });

  it("runs one replica of each service, and the worker with a 40 s grace period", () => {
    for (const w of listWorkloads(objects)) expect((w.object["spec"] as { replicas?: number }).replicas, w.id).toBe(1);
    const worker = listWorkloads(objects).find((w) => w.id === "Deployment/worker");
    expect(worker?.spec.terminationGracePeriodSeconds).toBe(40);
  });

  it("runs Redis 7.2 without persistence and without eviction", () => {
    const redis = listWorkloads(objects).find((w) => w.id === "Deployment/redis");
    const container = redis?.spec.containers[0];
    expect(container?.image).toBe("redis:7.2");
    expect(container?.args?.slice(0, 6)).toEqual(["--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"]);
    expect(inDev("Service", "redis")).toBeDefined();
  });

  it("runs PostgreSQL 16 as a StatefulSet on a claimed volume behind a Service", () => {
    const postgres = inDev("StatefulSet", "postgres");
    const spec = postgres?.["spec"] as { serviceName: string; volumeClaimTemplates: Array<{ metadata: { name: string } }> };
    expect(spec.serviceName).toBe("postgres");
    expect(spec.volumeClaimTemplates.map((t) => t.metadata.name)).toEqual(["data"]);
    const container = listWorkloads(objects).find((w) => w.id === "StatefulSet/postgres")?.spec.containers[0];
    expect(container?.image).toBe("postgres:16");
    expect(container?.volumeMounts?.map((m) => m.name)).toContain("data");
    expect(inDev("Service", "postgres")).toBeDefined();
  });

  it("points the services at the dev stores through the taskflow-stores Secret", () => {
    expect(inDev("Secret", "taskflow-stores")?.["stringData"]).toEqual({
      REDIS_URL: "redis://redis:6379",
      DATABASE_URL: "postgres://postgres:taskflow-dev@postgres:5432/taskflow",
      PAGE_TOKEN_SECRET: "taskflow-dev-page-token-secret",
    });
  });
});

describe("prod overlay", () => {
  let objects: K8sObject[] = [];
  const inProd = (kind: string, name: string): K8sObject | undefined => findObject(objects, kind, name, "taskflow-prod");
  const envOf = (name: string, kind = "Deployment"): string[] =>
    (listWorkloads(objects).find((w) => w.id === `${kind}/${name}`)?.spec.containers[0]?.env ?? []).map((e) => e.name);

  beforeAll(() => {
    objects = renderOverlay(join(DEPLOY_DIR, "overlays", "prod"));
  });

  it("carries no credentials and runs no store: the operator provides both", () => {
    expect(checkNoPlaintextSecrets(objects)).toEqual([]);
    expect(objects.filter((o) => o.kind === "Secret")).toEqual([]);
    expect(listWorkloads(objects).map((w) => w.id).sort()).toEqual([
      "Deployment/dashboard",
      "Deployment/history",
      "Deployment/scheduler",
      "Deployment/worker",
      "Job/history-migrate",
    ]);
  });

  it("denies by default and admits only the scheduler to history's internal port", () => {
    expect(checkNetworkIsolation(objects)).toEqual([]);
  });

  it("lets the dashboard reach the scheduler's and history's public ports and nothing else", () => {
    expect(checkDashboardReach(objects)).toEqual([]);
    expect(inProd("NetworkPolicy", "dashboard-ingress")).toBeDefined();
  });

  it("runs two dashboards, under a disruption budget, verifying the services' certificates with the CA of taskflow-ca over https", () => {
    const dashboard = listWorkloads(objects).find((w) => w.id === "Deployment/dashboard");
    expect((dashboard?.object["spec"] as { replicas?: number }).replicas).toBe(2);
    expect(inProd("PodDisruptionBudget", "dashboard")).toBeDefined();
    expect(envOf("dashboard")).toEqual(expect.arrayContaining(["SCHEDULER_CA_FILE", "HISTORY_CA_FILE"]));
    expect(envOf("dashboard")).not.toContain("TLS_CERT_FILE");
    expect(dashboard?.spec.volumes?.find((v) => v.name === "tls")?.secret?.secretName).toBe("taskflow-ca");
    const config = objects.find((o) => o.kind === "ConfigMap")?.["data"] as Record<string, string>;
    expect(config["DASHBOARD_HISTORY_URL"]).toBe("https://history:50052");
    expect(config["HISTORY_CA_FILE"]).toBe("/etc/taskflow/tls/ca.crt");
  });

  it("autoscales the APIs on CPU and the worker on queue depth, each under a disruption budget", () => {
    expect(checkAutoscaling(objects)).toEqual([]);
    expect(inProd("HorizontalPodAutoscaler", "scheduler")).toBeDefined();
    expect(inProd("HorizontalPodAutoscaler", "history")).toBeDefined();
    expect(inProd("ScaledObject", "worker")?.apiVersion).toBe("keda.sh/v1alpha1");
  });

  it("migrates with its own user in a Job, and history does not migrate at start-up", () => {
    const job = listWorkloads(objects).find((w) => w.id === "Job/history-migrate")?.spec.containers[0];
    expect(job?.command).toEqual(["node", "services/history/dist/migrate-main.js"]);
    expect(job?.env?.find((e) => e.name === "DATABASE_URL")?.valueFrom?.secretKeyRef?.name).toBe("taskflow-migrator");
    const history = listWorkloads(objects).find((w) => w.id === "Deployment/history")?.spec.containers[0];
    expect(history?.env?.find((e) => e.name === "DATABASE_URL")?.valueFrom?.secretKeyRef?.name).toBe("taskflow-stores");
    const config = objects.find((o) => o.kind === "ConfigMap")?.["data"] as Record<string, string>;
    expect(config["HISTORY_MIGRATE_ON_START"]).toBe("false");
  });

  it("gives every service TLS, the two that serve RPCs the tokens file and client CA, and the callers their token, CA and client certificate", () => {
    for (const name of ["scheduler", "history", "worker"]) expect(envOf(name)).toEqual(expect.arrayContaining(["TLS_CERT_FILE", "TLS_KEY_FILE"]));
    for (const name of ["scheduler", "history"]) expect(envOf(name)).toEqual(expect.arrayContaining(["AUTH_TOKENS_FILE", "TLS_CLIENT_CA_FILE"]));
    expect(envOf("scheduler")).toEqual(expect.arrayContaining(["HISTORY_TOKEN_FILE", "HISTORY_CA_FILE", "HISTORY_CERT_FILE", "HISTORY_KEY_FILE"]));
    expect(envOf("worker")).toEqual(expect.arrayContaining(["SCHEDULER_TOKEN_FILE", "SCHEDULER_CA_FILE", "SCHEDULER_CERT_FILE", "SCHEDULER_KEY_FILE"]));
    const config = objects.find((o) => o.kind === "ConfigMap")?.["data"] as Record<string, string>;
    expect(config["HISTORY_URL"]).toBe("https://history-internal:50054");
    expect(config["SCHEDULER_URL"]).toBe("https://scheduler:50051");
  });
});
