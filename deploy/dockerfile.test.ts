import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./checks/deploy-paths.js";
import { effectiveArgs, effectiveEnv, execForm, parseDockerfile, stageChain } from "./checks/parse-dockerfile.js";
import { HEALTH_PATH, TASKFLOW_SERVICES, type TaskflowServiceName } from "./checks/taskflow-services.js";
import { imageTag } from "./checks/workload-rules.js";

const stages = parseDockerfile(readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8"));
const stageNames = new Set(stages.map((s) => s.name));
const services = Object.keys(TASKFLOW_SERVICES) as TaskflowServiceName[];

function buildRuns(): string[] {
  return (stages.find((s) => s.name === "build")?.instructions ?? []).filter((i) => i.keyword === "RUN").map((i) => i.args);
}

describe("Dockerfile", () => {
  it("pins every base image by a tag other than latest", () => {
    const external = stages.filter((s) => !stageNames.has(s.base)).map((s) => s.base);
    expect(external.length).toBeGreaterThan(0);
    for (const image of external) {
      expect(image, image).not.toContain("$");
      expect(imageTag(image), image).toBeDefined();
      expect(imageTag(image), image).not.toBe("latest");
    }
  });

  it("builds on node:22-bookworm-slim with pnpm 10.34.9, the frozen lockfile and turbo", () => {
    expect(stages.find((s) => s.name === "build")?.base).toBe("node:22-bookworm-slim");
    const runs = buildRuns().join("\n");
    expect(runs).toMatch(/npm install --global pnpm@10\.34\.9|npm i -g pnpm@10\.34\.9|corepack/);
    expect(runs).toContain("pnpm install --frozen-lockfile");
    expect(runs).toContain("pnpm exec turbo run build");
  });

  it("builds every image's package, the dashboard's pages and server among them", () => {
    const build = buildRuns().find((r) => r.includes("turbo run build"));
    for (const name of services) expect(build).toContain(`--filter=@taskflow/${name}`);
  });

  it("prunes each service to its production dependencies with pnpm deploy", () => {
    const deploy = buildRuns().find((r) => r.includes("pnpm deploy"));
    expect(deploy).toBeDefined();
    expect(deploy).toContain("--prod");
    expect(deploy).toContain("--legacy");
    for (const name of services) expect(deploy).toContain(name);
  });

  it("fails the build when migrations, the migration entry, Lua scripts or the dashboard's pages are missing from the service folders", () => {
    const check = buildRuns().find((r) => r.includes("/out/history/migrations/*.sql"));
    expect(check).toContain("/out/scheduler/dist/redis/scripts/*.lua");
    // The prod overlay's migration Job runs this file in the history image.
    expect(check).toContain("/out/history/dist/migrate-main.js");
    // `vite build` writes the pages; the server alone would answer every page with 404.
    expect(check).toContain("/out/dashboard/dist/app/index.html");
  });
});

describe.each(services)("runtime target %s", (name) => {
  const spec = TASKFLOW_SERVICES[name];

  it("derives from node:22-bookworm-slim, not from the build stage", () => {
    const chain = stageChain(stages, name);
    expect(chain[0]?.name).toBe(name);
    expect(chain.map((s) => s.name)).not.toContain("build");
    expect(chain.at(-1)?.base).toBe("node:22-bookworm-slim");
  });

  it("runs as a numeric non-root user, so runAsNonRoot can verify it", () => {
    expect(effectiveArgs(stages, name, "USER")).toMatch(/^[1-9][0-9]*(:[0-9]+)?$/);
  });

  it("starts the service's main with node in exec form, in production mode", () => {
    expect(execForm(effectiveArgs(stages, name, "ENTRYPOINT"))).toEqual(["node", `services/${name}/${spec.entry}`]);
    expect(effectiveArgs(stages, name, "WORKDIR")).toBe("/app");
    const env = effectiveEnv(stages, name);
    expect(env["NODE_ENV"]).toBe("production");
    expect(env[spec.hostVar]).toBe("0.0.0.0");
    expect(effectiveArgs(stages, name, "EXPOSE")).toBe(String(spec.defaultPort));
  });

  it("copies only its own pruned folder from the build stage", () => {
    const copies = stageChain(stages, name).flatMap((s) => s.instructions.filter((i) => i.keyword === "COPY"));
    expect(copies.map((c) => c.args)).toEqual([`--from=build /out/${name} /app/services/${name}`]);
  });
});

describe("runtime target dashboard", () => {
  it("checks its health with node on its own /healthz, in exec form", () => {
    const healthcheck = effectiveArgs(stages, "dashboard", "HEALTHCHECK") ?? "";
    const cmd = /^(?:--\S+\s+)*CMD\s+(\[.*\])$/.exec(healthcheck);
    const argv = execForm(cmd?.[1]);
    expect(argv?.slice(0, 2)).toEqual(["node", "-e"]);
    expect(argv?.[2]).toContain(`http://127.0.0.1:\${process.env.DASHBOARD_PORT || ${TASKFLOW_SERVICES.dashboard.defaultPort}}${HEALTH_PATH}`);
    expect(healthcheck).toMatch(/--interval=\d+s/);
    expect(healthcheck).toMatch(/--timeout=\d+s/);
  });
});

describe(".dockerignore", () => {
  const patterns = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));

  it("keeps installed, built and local state out of the context, in every package", () => {
    expect(patterns).toEqual(expect.arrayContaining(["**/node_modules", "**/dist", "**/.turbo", ".git", ".taskflow"]));
  });

  it("re-includes nothing it excludes", () => {
    expect(patterns.filter((p) => p.startsWith("!"))).toEqual([]);
  });
});
