import type { K8sObject } from "./k8s-object.js";

type ModelClass = new (data: unknown) => { validate(): void };

/** `v1`, `apps/v1`, `networking.k8s.io/v1`: the shapes kubernetes-models names its modules by. */
const API_VERSION = /^(?:[a-z0-9]+(?:[.-][a-z0-9]+)*\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$/;

/**
 * Validates one object against the OpenAPI schema of its built-in kind (wrong types, missing
 * required fields; unknown fields pass). A kind without a built-in schema (a CRD) fails, so a
 * custom resource cannot slip into a render unchecked.
 * @throws Error when no built-in model exists for apiVersion/kind.
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
    module = (await import(/* @vite-ignore */ `kubernetes-models/${apiVersion}`)) as Record<string, unknown>;
  } catch {
    throw new Error(`no built-in schema for ${apiVersion}`);
  }
  const Model = module[kind];
  if (typeof Model !== "function") throw new Error(`no built-in schema for ${apiVersion} ${kind}`);
  return Model as ModelClass;
}
