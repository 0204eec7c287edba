/** A V8 CPU profile as `node --cpu-prof` writes it (the DevTools format). */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  /** Node id of each sample. */
  samples: number[];
  /** Microseconds since the previous sample, per sample. */
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  /** Share of the profile's busy time (all but idle), in percent. */
  pct: number;
}

/** Where a function lives: `node_modules` package, TaskFlow package, Node's own code, or a V8 pseudo-frame. */
export function packageOf(url: string, functionName: string): string {
  if (url === "") return `(${functionName.replace(/[()]/g, "") || "native"})`;
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const parts = url.slice(nm + "node_modules/".length).split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith("node:")) return "node";
  const own = /\/(?:packages|services|tools|testing)\/([^/]+)\//.exec(url);
  return own ? `@taskflow/${own[1]}` : url;
}

/**
 * Self time per function and per package, heaviest first, as shares of the busy time (the
 * `(idle)` pseudo-frame left out).
 */
export function selfTimes(profile: CpuProfile): { functions: SelfTime[]; packages: SelfTime[]; busyMs: number; idleMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const fnMs = new Map<string, number>();
  const pkgMs = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) return;
    if (frame.functionName === "(idle)") {
      idle += ms;
      return;
    }
    busy += ms;
    const file = frame.url.replace(/^file:\/\//, "").split("/").slice(-2).join("/");
    const fn = `${frame.functionName || "(anonymous)"} ${file ? `${file}:${frame.lineNumber + 1}` : ""}`.trim();
    fnMs.set(fn, (fnMs.get(fn) ?? 0) + ms);
    const pkg = packageOf(frame.url, frame.functionName);
    pkgMs.set(pkg, (pkgMs.get(pkg) ?? 0) + ms);
  });
  const rank = (m: Map<string, number>): SelfTime[] =>
    [...m]
      .map(([name, ms]) => ({ name, ms: Math.round(ms), pct: busy > 0 ? Math.round((ms / busy) * 1000) / 10 : 0 }))
      .sort((a, b) => b.ms - a.ms);
  return { functions: rank(fnMs), packages: rank(pkgMs), busyMs: Math.round(busy), idleMs: Math.round(idle) };
}

/**
 * The call paths, up to `depth` frames above it, that spent self time in functions named
 * `name`, heaviest first: where a hot native or library function is called from.
 */
export function callersOf(profile: CpuProfile, name: string, depth = 8): { path: string; ms: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (id: number): string => {
    const f = byId.get(id)!.callFrame;
    const file = f.url.replace(/^file:\/\//, "").split("/").slice(-2).join("/");
    return `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`;
  };
  const paths = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    if (byId.get(id)?.callFrame.functionName !== name) return;
    const frames: string[] = [];
    for (let at: number | undefined = id; at !== undefined && frames.length <= depth; at = parent.get(at)) frames.push(label(at));
    const path = frames.join(" < ");
    paths.set(path, (paths.get(path) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...paths].map(([path, ms]) => ({ path, ms: Math.round(ms) })).sort((a, b) => b.ms - a.ms);
}
