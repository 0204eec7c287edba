import type { K8sObject } from "./k8s-object.js";

type ModelClass = new (data: unknown) => { validate(): void };

/** `v1`, `apps/v1`, `networking.k8s.io/v1`: the shapes kubernetes-models names its modules by. */
const API_VERSION = /^(?:[a-z0-9]+(?:[.-][a-z0-9]+)*\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$/;

/**
 * Custom resource groups whose schema the checks know, and the package holding their models.
 * `@kubernetes-models/keda` (pinned) is generated from KEDA v2.19.0's CRDs (their
 * openAPIV3Schema, compiled to ajv validators), so a ScaledObject is checked like a built-in kind.
 */
const CRD_PACKAGES: Readonly<Record<string, string>> = {
  "keda.sh": "@kubernetes-models/keda",
};

/**
 * Validates one object against the OpenAPI schema of its kind: a built-in kind's, or a known
 * custom resource's (see CRD_PACKAGES). Wrong types and missing required fields fail; unknown
 * fields pass. Any other kind fails, so a custom resource cannot slip into a render unchecked.
 * @throws Error when no model exists for apiVersion/kind.
 * @throws ValidationError (from kubernetes-models) listing the schema violations.
 */
export async function validateSchema(object: K8sObject): Promise<void> {
  const Model = await loadModel(object.apiVersion, object.kind);
  new Model(object).validate();
}

async function loadModel(apiVersion: string, kind: string): Promise<ModelClass> {
  if (!API_VERSION.test(apiVersion)) throw new Error(`unexpected apiVersion ${apiVersion}`);
  let module: Record<string, unknown>;
  try {
    // Resolved at run time from the package's exports map, one module per group/version.
    const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
    const crdPackage = Object.hasOwn(CRD_PACKAGES, group) ? CRD_PACKAGES[group] : undefined;
    const specifier = crdPackage === undefined ? `kubernetes-models/${apiVersion}` : `${crdPackage}/${apiVersion}`;
    module = (await import(/* @vite-ignore */ specifier)) as Record<string, unknown>;
  } catch {
    throw new Error(`no built-in schema for ${apiVersion}`);
  }
  const Model = module[kind];
  if (typeof Model !== "function") throw new Error(`no built-in schema for ${apiVersion} ${kind}`);
  return Model as ModelClass;
}
