import type { IContainer, IProbe, IService } from "kubernetes-models/v1";
import { findObject, listWorkloads, objectId, selects, type K8sObject, type PodWorkload } from "./k8s-object.js";
import { resolveEnv } from "./resolve-env.js";
import { HEALTH_PATH, isTaskflowService, taskflowServiceOf, TASKFLOW_SERVICES, type TaskflowServiceSpec } from "./taskflow-services.js";

/** What the kubelet waits after SIGTERM when a pod names no grace period, in seconds. */
const DEFAULT_GRACE_SECONDS = 30;

/** What a Service in front of a TaskFlow port must declare: gRPC, Connect and gRPC-Web over h2c. */
export const GRPC_APP_PROTOCOL = "kubernetes.io/h2c";

/** The same in front of a port serving TLS (`TLS_CERT_FILE` set): HTTP/2 (and /metrics' HTTP/1.1) over TLS. */
export const TLS_APP_PROTOCOL = "https";

/** What a Service in front of the dashboard must declare: its pages and the browser's calls over HTTP/1.1. */
export const HTTP_APP_PROTOCOL = "http";

/** The name of a TaskFlow container's listening port, by what it speaks. */
const PORT_NAME = { grpc: "grpc", http: "http" } as const;

/** Whether a TaskFlow container serves TLS on its ports. */
function servesTls(env: ReadonlyMap<string, string | undefined>): boolean {
  return env.has("TLS_CERT_FILE") && env.get("TLS_CERT_FILE") !== "";
}

interface Target {
  w: PodWorkload;
  c: IContainer;
  spec: TaskflowServiceSpec;
  env: Map<string, string | undefined>;
  where: string;
}

/**
 * Checks the containers running `taskflow/<service>` images against the service's fixed
 * configuration: only variables its config reads, bound to 0.0.0.0 on the declared `grpc`
 * port, gRPC probes on that port (TCP probes when it serves TLS: the kubelet's gRPC probe speaks
 * cleartext only), no service-link variables, a grace period longer than the drain, and
 * in-cluster URLs that name a Service of the render on one of its ports. The dashboard speaks
 * HTTP: its port is named `http` and probed with GET /healthz, and its service URLs name the
 * scheduler's and history's public ports. A Job running a TaskFlow image (a one-off such as
 * migrations) is held to the variable names only. Also checks that Services in front of
 * TaskFlow pods name their ports `grpc` with appProtocol h2c, or https when the pods serve TLS,
 * and `http` with appProtocol http in front of the dashboard.
 * @returns one line per violation, empty when the render complies.
 */
export function checkTaskflowServices(objects: readonly K8sObject[]): string[] {
  const workloads = listWorkloads(objects);
  const containers = workloads.flatMap((w) => w.spec.containers.map((c) => ({ w, c, name: taskflowServiceOf(c.image) })));
  const violations = containers.flatMap(({ w, c, name }) => {
    if (name === undefined) return [];
    if (!isTaskflowService(name)) return [`${w.id} container ${c.name}: ${c.image ?? ""} is no known TaskFlow service`];
    const env = resolveEnv(c, w.namespace, objects);
    const t = { w, c, spec: TASKFLOW_SERVICES[name], env, where: `${w.id} container ${c.name}` };
    if (w.object.kind === "Job") return checkUnreadNames(t).map((v) => `${t.where}: ${v}`);
    return checkTarget(objects, t);
  });
  return [...violations, ...checkTaskflowServicePorts(objects, workloads)];
}

function checkTarget(objects: readonly K8sObject[], t: Target): string[] {
  const port = listenPort(t);
  return [
    ...checkEnvNames(t),
    ...(port === undefined ? [`${t.where}: ${t.spec.portVar} is not a port number`] : checkPort(t, port)),
    ...checkGrace(t),
    ...[...t.env].flatMap(([name, value]) => checkUrlTarget(objects, t, name, value)),
    ...Object.entries(t.spec.publicUrls ?? {}).flatMap(([name, service]) => checkPublicUrl(objects, t, name, service)),
  ].map((v) => `${t.where}: ${v}`);
}

function checkUnreadNames(t: Target): string[] {
  return [...t.env.keys()].filter((name) => !t.spec.env.includes(name)).map((name) => `sets ${name}, which the service's config does not read`);
}

function checkEnvNames(t: Target): string[] {
  const violations: string[] = [];
  if (t.w.spec.enableServiceLinks !== false) violations.push("enableServiceLinks is not false (it injects *_PORT variables)");
  violations.push(...checkUnreadNames(t));
  for (const name of t.spec.required) {
    if (!t.env.has(name)) violations.push(`does not set ${name}`);
  }
  if (t.env.get(t.spec.hostVar) !== "0.0.0.0") violations.push(`${t.spec.hostVar} is not 0.0.0.0`);
  return violations;
}

function listenPort(t: Target): number | undefined {
  const text = t.env.get(t.spec.portVar);
  if (text === undefined) return t.env.has(t.spec.portVar) ? undefined : t.spec.defaultPort;
  return /^[0-9]+$/.test(text) ? Number(text) : undefined;
}

function checkPort(t: Target, port: number): string[] {
  const violations: string[] = [];
  const portName = PORT_NAME[t.spec.protocol];
  const declared = (t.c.ports ?? []).find((p) => p.name === portName);
  if (declared?.containerPort !== port) violations.push(`declares no container port named ${portName} on ${port}`);
  const probes: Array<[string, IProbe | undefined]> = [
    ["readinessProbe", t.c.readinessProbe],
    ["livenessProbe", t.c.livenessProbe],
    ["startupProbe", t.c.startupProbe],
  ];
  const tls = servesTls(t.env);
  for (const [kind, probe] of probes) {
    const required = kind !== "startupProbe" || t.spec.startupProbe;
    if (probe === undefined && !required) continue;
    if (t.spec.protocol === "http") {
      const get = probe?.httpGet;
      const onPort = get?.port === port || get?.port === portName;
      if (get?.path !== HEALTH_PATH || !onPort) violations.push(`${kind} is not an httpGet probe of ${HEALTH_PATH} on port ${port}`);
      continue;
    }
    if (!tls && probe?.grpc?.port !== port) violations.push(`${kind} is not a grpc probe on port ${port}`);
    const tcpPort = probe?.tcpSocket?.port;
    if (tls && tcpPort !== port && tcpPort !== "grpc") violations.push(`${kind} is not a tcpSocket probe on port ${port} (TLS)`);
  }
  return violations;
}

function checkGrace(t: Target): string[] {
  const graceMs = (t.w.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
  const preStopMs = (t.c.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
  const drainText = t.spec.drainMsVar === undefined ? undefined : t.env.get(t.spec.drainMsVar);
  const drainMs = drainText === undefined ? t.spec.defaultDrainMs : Number(drainText);
  if (graceMs > preStopMs + drainMs) return [];
  return [`terminationGracePeriodSeconds ${graceMs / 1000} does not exceed preStop ${preStopMs} ms + drain ${drainMs} ms`];
}

/**
 * A URL whose host is a bare name (`http://history:50052`) means a Service in the pod's own
 * namespace: it must be in the render and expose that port. Qualified names and IPs point
 * outside the render and are not checked.
 */
function checkUrlTarget(objects: readonly K8sObject[], t: Target, name: string, value: string | undefined): string[] {
  const url = parseUrl(value);
  if (url === undefined || url.hostname.includes(".") || url.hostname === "localhost" || url.hostname === "") return [];
  const service = findObject(objects, "Service", url.hostname, t.w.namespace) as IService | undefined;
  if (service === undefined) return [`${name} points at ${url.hostname}, which is no Service in the render`];
  if (url.port === "" || (service.spec?.ports ?? []).some((p) => p.port === Number(url.port))) return [];
  return [`${name} points at port ${url.port}, which Service ${url.hostname} does not expose`];
}

/**
 * A URL the service must call `service` at through its public port: the Service of that name,
 * on a port that targets the pods' port named grpc (history's internal listener is another).
 */
function checkPublicUrl(objects: readonly K8sObject[], t: Target, name: string, service: string): string[] {
  const url = parseUrl(t.env.get(name));
  if (url === undefined) return t.env.has(name) ? [`${name} is not a URL`] : [];
  const host = url.hostname.split(".")[0];
  const found = findObject(objects, "Service", host ?? "", t.w.namespace) as IService | undefined;
  const port = (found?.spec?.ports ?? []).find((p) => p.port === Number(url.port));
  if (host === service && port?.targetPort === PORT_NAME.grpc) return [];
  return [`${name} points at ${url.host}, not at ${service}'s public port`];
}

function parseUrl(value: string | undefined): URL | undefined {
  if (value === undefined || !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function checkTaskflowServicePorts(objects: readonly K8sObject[], workloads: readonly PodWorkload[]): string[] {
  const taskflowPods = workloads.filter((w) => w.object.kind !== "Job" && w.spec.containers.some((c) => taskflowServiceOf(c.image) !== undefined));
  return objects
    .filter((o) => o.kind === "Service")
    .flatMap((o) => {
      const selected = taskflowPods.filter((w) => w.namespace === o.metadata.namespace && selects((o as unknown as IService).spec?.selector ?? {}, w.podLabels));
      if (selected.length === 0) return [];
      const http = selected.some((w) => w.spec.containers.some((c) => protocolOf(c) === "http"));
      const tls = selected.some((w) => w.spec.containers.some((c) => servesTls(resolveEnv(c, w.namespace, objects))));
      const name = http ? PORT_NAME.http : PORT_NAME.grpc;
      const wanted = http ? HTTP_APP_PROTOCOL : tls ? TLS_APP_PROTOCOL : GRPC_APP_PROTOCOL;
      return ((o as unknown as IService).spec?.ports ?? [])
        .filter((p) => p.name !== name || p.appProtocol !== wanted)
        .map((p) => `${objectId(o)}: port ${p.name ?? p.port} is not named ${name} with appProtocol ${wanted}`);
    });
}

/** What a TaskFlow container's port speaks, by its image; undefined for other images. */
function protocolOf(c: IContainer): "grpc" | "http" | undefined {
  const name = taskflowServiceOf(c.image);
  return name !== undefined && isTaskflowService(name) ? TASKFLOW_SERVICES[name].protocol : undefined;
}
