import { ParentFailurePolicy, type SubmitJobRequest } from "@taskflow/proto";
import { invalidArgument } from "./errors.js";

/** Most distinct parents one job may wait for (history refuses more as well). */
export const MAX_PARENTS_PER_JOB = 32;

const REF_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A job's dependencies once its batch's refs are resolved. */
export interface JobDependencies {
  /** Ids of the jobs it waits for: stored jobs, or jobs of the same batch. */
  parentIds: string[];
  onParentFailure: ParentFailurePolicy;
}

/**
 * Resolves the `depends_on` of every job of one submit: an entry that is a UUID names a stored
 * job (history refuses an unknown one with not_found), any other entry the `ref` of a job of the
 * batch. `ids[i]` is the id given to `reqs[i]`; `path(i)` prefixes field names ("jobs[i]." or "").
 * @throws invalid_argument for a malformed or repeated ref, an unknown ref, a job depending on
 *   itself, a parent named twice, more than {@link MAX_PARENTS_PER_JOB} parents, an unknown
 *   policy, or a cycle among the batch's jobs.
 */
export function resolveDependencies(reqs: readonly SubmitJobRequest[], ids: readonly string[], path: (i: number) => string): JobDependencies[] {
  const byRef = new Map<string, number>();
  reqs.forEach((r, i) => {
    if (r.ref === "") return;
    if (!REF_PATTERN.test(r.ref)) throw invalidArgument(`${path(i)}ref`, 'must be 1 to 128 characters of letters, digits and "._:-"');
    const other = byRef.get(r.ref);
    if (other !== undefined) throw invalidArgument(`${path(i)}ref`, `"${r.ref}" is the ref of ${path(other)}ref too`);
    byRef.set(r.ref, i);
  });
  const deps = reqs.map((r, i) => parseDependencies(r, i, ids, byRef, path));
  checkAcyclic(deps, ids, path);
  return deps;
}

function parseDependencies(
  r: SubmitJobRequest,
  i: number,
  ids: readonly string[],
  byRef: ReadonlyMap<string, number>,
  path: (i: number) => string,
): JobDependencies {
  const field = `${path(i)}depends_on`;
  if (!(r.onParentFailure in ParentFailurePolicy)) throw invalidArgument(`${path(i)}on_parent_failure`, "must be FAIL, CANCEL or RUN");
  if (r.dependsOn.length > MAX_PARENTS_PER_JOB) throw invalidArgument(field, `must name at most ${MAX_PARENTS_PER_JOB} jobs`);
  const parentIds = r.dependsOn.map((entry, k) => {
    if (UUID_PATTERN.test(entry)) return entry.toLowerCase();
    const j = byRef.get(entry);
    if (j === undefined) throw invalidArgument(`${field}[${k}]`, `"${entry}" is neither a job id nor the ref of a job of this call`);
    if (j === i) throw invalidArgument(`${field}[${k}]`, "a job cannot depend on itself");
    return ids[j]!;
  });
  const seen = new Set<string>();
  parentIds.forEach((id, k) => {
    if (seen.has(id)) throw invalidArgument(`${field}[${k}]`, "names a job named before");
    seen.add(id);
  });
  const policy = r.onParentFailure === ParentFailurePolicy.UNSPECIFIED ? ParentFailurePolicy.FAIL : r.onParentFailure;
  return { parentIds, onParentFailure: parentIds.length === 0 ? ParentFailurePolicy.UNSPECIFIED : policy };
}

/** @throws invalid_argument naming a job on a cycle of the batch's edges (depth-first search). */
function checkAcyclic(deps: readonly JobDependencies[], ids: readonly string[], path: (i: number) => string): void {
  const index = new Map(ids.map((id, i) => [id, i]));
  // 0 unseen, 1 on the current path, 2 done.
  const state = new Array<number>(deps.length).fill(0);
  const visit = (i: number): void => {
    state[i] = 1;
    for (const p of deps[i]!.parentIds) {
      const j = index.get(p);
      if (j === undefined || state[j] === 2) continue;
      if (state[j] === 1) throw invalidArgument(`${path(i)}depends_on`, `forms a cycle with ${path(j).replace(/\.$/, "")}`);
      visit(j);
    }
    state[i] = 2;
  };
  deps.forEach((_, i) => {
    if (state[i] === 0) visit(i);
  });
}
