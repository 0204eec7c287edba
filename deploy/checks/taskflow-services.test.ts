import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AUTH_VARIABLES, credentialVariables, TLS_VARIABLES, TRACING_VARIABLES } from "@taskflow/service-kit";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./deploy-paths.js";
import { TASKFLOW_SERVICES, type TaskflowServiceName } from "./taskflow-services.js";

/**
 * The variable names a service's config.ts reads through its ConfigReader (`r.int("NAME", …)`),
 * each once (a name is also named where a problem with it is recorded, `r.invalid("NAME", …)`),
 * through a helper of its own given the reader and the name (`serviceUrl(r, "NAME", …)`),
 * and through the kit's shared readers (`readAuthConfig(r)`, `readTlsFiles(r)`,
 * `readTracingConfig(r)`, `readCredentialFiles(r, "PREFIX")`).
 */
function namesReadBy(service: TaskflowServiceName): string[] {
  const source = readFileSync(join(REPO_ROOT, "services", service, TASKFLOW_SERVICES[service].configFile), "utf8");
  const direct = [...source.matchAll(/\br\.\w+(?:<[^>]*>)?\(\s*"([A-Z][A-Z0-9_]*)"/g)].map((m) => m[1]!);
  const helped = [...source.matchAll(/\b(\w+)\(r, "([A-Z][A-Z0-9_]*)"/g)].filter((m) => m[1] !== "readCredentialFiles").map((m) => m[2]!);
  const own = [...direct, ...helped];
  const auth = /\breadAuthConfig\(r\)/.test(source) ? AUTH_VARIABLES : [];
  const tls = /\breadTlsFiles\(r\)/.test(source) ? TLS_VARIABLES : [];
  const tracing = /\breadTracingConfig\(r\)/.test(source) ? TRACING_VARIABLES : [];
  const credentials = [...source.matchAll(/\breadCredentialFiles\(r, "([A-Z][A-Z0-9_]*)"\)/g)].flatMap((m) => credentialVariables(m[1]!));
  return [...new Set([...own, ...auth, ...tls, ...tracing, ...credentials])].sort();
}

describe("TASKFLOW_SERVICES", () => {
  it.each(Object.keys(TASKFLOW_SERVICES) as TaskflowServiceName[])(
    "lists exactly the variables %s's config.ts reads",
    (service) => {
      expect([...TASKFLOW_SERVICES[service].env].sort()).toEqual(namesReadBy(service));
    },
  );
});
