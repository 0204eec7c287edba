import type { Queryable } from "../queryable.js";

/** An operator's action as the scheduler reports it. */
export interface OperatorActionInput {
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
}

/** An action as recorded: with its id and history's time. */
export interface OperatorActionRow extends OperatorActionInput {
  id: string;
  at: Date;
}

const COLUMNS = "id::text AS id, at, actor, action, target, details";

/** Records `actions` in one statement, in order; resolves to them as stored. */
export async function recordOperatorActions(db: Queryable, actions: readonly OperatorActionInput[]): Promise<OperatorActionRow[]> {
  if (actions.length === 0) return [];
  const { rows } = await db.query<OperatorActionRow>({
    name: "history_record_operator_actions",
    text: `INSERT INTO operator_actions (actor, action, target, details)
           SELECT actor, action, target, details
           FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS a(actor, action, target, details, ord)
           ORDER BY ord
           RETURNING ${COLUMNS}`,
    values: [actions.map((a) => a.actor), actions.map((a) => a.action), actions.map((a) => a.target), actions.map((a) => JSON.stringify(a.details))],
  });
  return rows.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
}

/** Most actions {@link latestQueueControls} answers. */
export const MAX_QUEUE_CONTROLS = 10_000;

/**
 * The newest pause-or-resume of each queue and the newest limits of each queue and job type
 * (`details.type`, none for the queue's own), oldest first.
 */
export async function latestQueueControls(db: Queryable): Promise<OperatorActionRow[]> {
  const { rows } = await db.query<OperatorActionRow>({
    name: "history_latest_queue_controls",
    text: `SELECT ${COLUMNS} FROM (
             SELECT DISTINCT ON (target, kind) *
             FROM (SELECT *, CASE WHEN action = 'queue.limits' THEN 'limits:' || coalesce(details->>'type', '') ELSE 'pause' END AS kind
                   FROM operator_actions
                   WHERE action IN ('queue.pause', 'queue.resume', 'queue.limits')) a
             ORDER BY target, kind, id DESC
           ) latest
           ORDER BY latest.id DESC
           LIMIT $1`,
    values: [MAX_QUEUE_CONTROLS],
  });
  return rows.reverse();
}

export interface ListOperatorActionsQuery {
  /** Id of the last action of the previous page (newest first: only older ones follow). */
  beforeId: string | undefined;
  limit: number;
  /** "" for any. */
  target: string;
  action: string;
}

/**
 * Actions newest first, before a cursor, optionally of one target and one kind. Ordered by the
 * table's bigint id: a bare `id` would name the text column of the select list and sort 10
 * before 9.
 */
export async function listOperatorActions(db: Queryable, q: ListOperatorActionsQuery): Promise<OperatorActionRow[]> {
  const { rows } = await db.query<OperatorActionRow>({
    name: "history_list_operator_actions",
    text: `SELECT ${COLUMNS} FROM operator_actions
           WHERE ($1::bigint IS NULL OR id < $1::bigint)
             AND ($2::text = '' OR target = $2::text)
             AND ($3::text = '' OR action = $3::text)
           ORDER BY operator_actions.id DESC
           LIMIT $4`,
    values: [q.beforeId ?? null, q.target, q.action, q.limit],
  });
  return rows;
}
