import type { Queryable } from "../queryable.js";
import type { JobStatusText, JsonValue } from "../rows.js";

/** A child's policy as `job_dependencies.on_parent_failure` stores it. */
export type ParentFailureText = "fail" | "cancel" | "run";

/** Most distinct parents one job may wait for (SubmitJobRequest.depends_on documents it). */
export const MAX_PARENTS_PER_JOB = 32;

/** One edge to store: `childId` waits for `parentId`. */
export interface NewDependency {
  childId: string;
  parentId: string;
  onParentFailure: ParentFailureText;
}

/** A parent or child of a job as reads show it. */
export interface JobLinkRow {
  /** The job whose parent or child this is. */
  of_id: string;
  id: string;
  type: string;
  queue: string;
  status: JobStatusText;
  /** The child's policy (the same on every edge of one child). */
  on_parent_failure: ParentFailureText;
  /** A parent's result, read only when asked for. */
  result: JsonValue;
}

/**
 * Locks the parents that exist, in id order, `FOR SHARE`: a parent's AppendEvents (which takes
 * its row `FOR NO KEY UPDATE`) then waits for the child's commit, and its look for children to
 * release, made after that, sees the child; a parent that ended first is read ended. Returns the
 * ids found.
 */
export const LOCK_PARENTS_SQL = `
SELECT id::text AS id FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR SHARE`;

/** Stores edges; an edge stored before (a retried batch) is left as it is. */
export const INSERT_DEPENDENCIES_SQL = `
INSERT INTO job_dependencies (child_id, parent_id, on_parent_failure)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[])
ON CONFLICT (child_id, parent_id) DO NOTHING`;

/**
 * The parents of each job of `$1`, with their status now, and their results when `$2`. A parent
 * retention deleted reads as completed: retention deletes finished jobs only.
 */
export const SELECT_PARENTS_SQL = `
SELECT d.child_id::text AS of_id, d.parent_id::text AS id, coalesce(p.type, '') AS type,
       coalesce(p.queue, '') AS queue, coalesce(p.status, 'completed') AS status,
       d.on_parent_failure, CASE WHEN $2::boolean THEN p.result END AS result
FROM job_dependencies d
LEFT JOIN jobs p ON p.id = d.parent_id
WHERE d.child_id = ANY($1::uuid[])
ORDER BY d.child_id, d.parent_id`;

/** The children of each job of `$1`, with their status now (retention-deleted ones left out). */
export const SELECT_CHILDREN_SQL = `
SELECT d.parent_id::text AS of_id, d.child_id::text AS id, c.type, c.queue, c.status,
       d.on_parent_failure, NULL::jsonb AS result
FROM job_dependencies d
JOIN jobs c ON c.id = d.child_id
WHERE d.parent_id = ANY($1::uuid[])
ORDER BY d.parent_id, d.child_id`;

/**
 * Pending children of the jobs of `$1` whose every parent is terminal now: the children the
 * scheduler may release. A child released already (pending in Redis, not yet started) is
 * answered again, which the scheduler's restore ignores.
 */
export const SELECT_SETTLED_CHILDREN_SQL = `
SELECT DISTINCT d.child_id::text AS id
FROM job_dependencies d
JOIN jobs c ON c.id = d.child_id AND c.status = 'pending'
WHERE d.parent_id = ANY($1::uuid[])
  AND NOT EXISTS (
    SELECT 1 FROM job_dependencies o
    JOIN jobs p ON p.id = o.parent_id
    WHERE o.child_id = d.child_id AND p.status IN ('pending', 'processing'))
ORDER BY 1`;

/** Ids among `ids` that name existing jobs, locked `FOR SHARE` (see {@link LOCK_PARENTS_SQL}). */
export async function lockParents(db: Queryable, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { rows } = await db.query<{ id: string }>({ name: "history_lock_parents", text: LOCK_PARENTS_SQL, values: [ids] });
  return new Set(rows.map((r) => r.id));
}

/** Stores the edges in one statement (see {@link INSERT_DEPENDENCIES_SQL}). */
export async function insertDependencies(db: Queryable, deps: readonly NewDependency[]): Promise<void> {
  if (deps.length === 0) return;
  await db.query({
    name: "history_insert_dependencies",
    text: INSERT_DEPENDENCIES_SQL,
    values: [deps.map((d) => d.childId), deps.map((d) => d.parentId), deps.map((d) => d.onParentFailure)],
  });
}

/** Parents of the jobs `ids`, per job id (see {@link SELECT_PARENTS_SQL}). */
export async function selectParents(db: Queryable, ids: readonly string[], withResults = false): Promise<Map<string, JobLinkRow[]>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<JobLinkRow>({ name: "history_select_parents", text: SELECT_PARENTS_SQL, values: [ids, withResults] });
  return groupByOf(rows);
}

/** Children of the jobs `ids`, per job id (see {@link SELECT_CHILDREN_SQL}). */
export async function selectChildren(db: Queryable, ids: readonly string[]): Promise<Map<string, JobLinkRow[]>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<JobLinkRow>({ name: "history_select_children", text: SELECT_CHILDREN_SQL, values: [ids] });
  return groupByOf(rows);
}

/** Ids of the children the ended jobs `parentIds` let go (see {@link SELECT_SETTLED_CHILDREN_SQL}). */
export async function selectSettledChildren(db: Queryable, parentIds: readonly string[]): Promise<string[]> {
  if (parentIds.length === 0) return [];
  const { rows } = await db.query<{ id: string }>({
    name: "history_select_settled_children",
    text: SELECT_SETTLED_CHILDREN_SQL,
    values: [parentIds],
  });
  return rows.map((r) => r.id);
}

function groupByOf(rows: readonly JobLinkRow[]): Map<string, JobLinkRow[]> {
  const byJob = new Map<string, JobLinkRow[]>();
  for (const row of rows) {
    const list = byJob.get(row.of_id) ?? [];
    list.push(row);
    byJob.set(row.of_id, list);
  }
  return byJob;
}
