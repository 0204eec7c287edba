import { DEFAULT_SECRET_PAYLOAD_KEYS, maskSecrets } from "@taskflow/service-kit";
import type { Queryable } from "../queryable.js";
import { JOB_COLUMNS, jobColumns } from "../queryable.js";
import type { JobRow, JsonObject } from "../rows.js";
import type { ParentFailureText } from "./job-dependencies.js";

/** A job to insert as pending, as the scheduler built it. */
export interface NewJob {
  /** UUIDv7. */
  id: string;
  type: string;
  queue: string;
  payload: JsonObject;
  maxAttempts: number;
  priority: number;
  /** Execution timeout of one attempt in milliseconds; null means the service default. */
  timeoutMs: number | null;
  idempotencyKey: string | null;
  /** When the job is due; null means now (history's clock). */
  scheduledAt: Date | null;
  /**
   * Digest of the submit request, kept with the idempotency key this job claims; a job naming a
   * key claimed with another digest is refused. Null matches any request.
   */
  requestDigest: string | null;
  /** Jobs this one waits for (ids, distinct, not its own); none by default. */
  parentIds?: readonly string[];
  /** What the job does when a parent fails or is cancelled (default "fail"). */
  onParentFailure?: ParentFailureText;
  /** The schedule whose run this job is; null for a submitted job. */
  scheduleId: string | null;
}

/** Options of {@link insertJobs}. */
export interface InsertJobsOptions {
  /** How long a newly claimed idempotency key is honoured, in milliseconds (default 24 h). */
  idempotencyWindowMs: number;
  /** Actor of the SUBMITTED events (default "api"). */
  actor?: string;
  /**
   * Payload key names whose values stay out of the search vector (`SECRET_PAYLOAD_KEYS`; default
   * {@link DEFAULT_SECRET_PAYLOAD_KEYS}).
   */
  secretKeys?: readonly string[];
}

const DEFAULT_OPTIONS: InsertJobsOptions = { idempotencyWindowMs: 86_400_000 };

/**
 * Inserts every new job as 'pending' with its 'submitted' event (seq 1) in one statement, and
 * returns, for every requested job in request order, its stored row (NULL columns when the
 * statement cannot see it) and `refused_ord`. The payloads come as one JSON array (`$4`), parsed
 * once by PostgreSQL and never escaped element by element; a row stored under the requested id
 * returns no payload (NULL), since the caller holds it, only a key holder's row does. A job's created_at is the timestamp of its UUIDv7
 * id (when the scheduler accepted it), so created-time ranges are id ranges and prune the day
 * partitions exactly.
 *
 * `search` is `taskflow_search_vector` of the payload with the value of every secret-named key
 * nulled (`$13`, one JSON array: null where the payload has no such key, as most have not, so
 * only those payloads travel twice); the payload itself is stored as sent.
 *
 * Idempotency keys live in `idempotency_keys`, scoped by actor (`$8` holds {@link claimKeys};
 * `$14` the keys as given, which the job rows keep). The first job of the batch naming a key claims
 * it: a key no one holds is inserted, an expired one is taken over, a live one is left to its
 * holder. A job that did not claim its key is not inserted and resolves to the key's holder;
 * a job whose id exists already (a retried batch) resolves to itself.
 *
 * A job resolving to a holder claimed with another request digest (a non-null digest on both
 * sides) is refused: `refused_ord` is then the ordinal of the first such job on every row, and
 * the statement writes nothing at all, since every write below waits on `refused` being empty.
 * So the holder must be known before the first write, with the newest committed state:
 *   * `existing` locks the batch's key rows the snapshot shows, in key order, and so reads
 *     their newest version (READ COMMITTED re-reads a row it waited for): a key taken over
 *     after the snapshot is compared with its new holder, and cannot change again until commit.
 *   * A key the snapshot does not show is inserted plainly, without ON CONFLICT: when a
 *     concurrent submit claimed it after the snapshot, the unique key fails the whole statement
 *     (23505 on idempotency_keys_pkey, after waiting for that submit to commit), nothing of the
 *     batch is kept, and {@link insertJobs} runs it again with a snapshot that shows the key.
 * Keys are locked, then inserted, each in key order, so two batches sharing keys take them in
 * the same order. The snapshot cannot see what the statement's own CTEs insert, so those rows come from
 * RETURNING; nor a holder's job committed after it (a key taken over meanwhile), which
 * {@link SELECT_REQUESTED_JOBS_SQL} reads afterwards. A job the statement inserted is answered from
 * RETURNING alone: the table is read only for the jobs it did not insert (a retried batch's, a
 * key holder), one primary-key probe each.
 */
export const INSERT_JOBS_SQL = `
WITH input AS (
  SELECT t.*, p.payload, coalesce(nullif(s.searchable, 'null'::jsonb), p.payload) AS searchable
  FROM unnest($1::uuid[], $2::text[], $3::text[], $5::int[], $6::int[], $7::int[],
              $8::text[], $9::timestamptz[], $12::text[], $14::text[], $15::text[])
    WITH ORDINALITY AS t(id, type, queue, max_attempts, priority, timeout_ms,
                         idempotency_key, scheduled_at, request_digest, shown_key, schedule_id, ord)
  JOIN jsonb_array_elements($4::jsonb) WITH ORDINALITY AS p(payload, ord) USING (ord)
  JOIN jsonb_array_elements($13::jsonb) WITH ORDINALITY AS s(searchable, ord) USING (ord)
),
candidates AS (
  SELECT DISTINCT ON (idempotency_key) idempotency_key AS key, id AS job_id, request_digest
  FROM input
  WHERE idempotency_key IS NOT NULL
  ORDER BY idempotency_key, ord
),
existing AS MATERIALIZED (
  SELECT k.key, k.job_id, k.request_digest, k.expires_at > now() AS live
  FROM idempotency_keys k
  WHERE k.key IN (SELECT key FROM candidates)
  ORDER BY k.key
  FOR NO KEY UPDATE OF k
),
holders AS (
  SELECT c.key,
         CASE WHEN e.live THEN e.job_id ELSE c.job_id END AS job_id,
         CASE WHEN e.live THEN e.request_digest ELSE c.request_digest END AS request_digest
  FROM candidates c
  LEFT JOIN existing e USING (key)
),
refused AS (
  SELECT i.ord
  FROM input i
  JOIN holders h ON h.key = i.idempotency_key
  WHERE i.request_digest <> h.request_digest
    AND i.id <> h.job_id
    AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = i.id)
),
taken AS (
  UPDATE idempotency_keys k
  SET job_id = c.job_id, expires_at = now() + $10::bigint * interval '1 millisecond',
      request_digest = c.request_digest
  FROM candidates c
  JOIN existing e USING (key)
  WHERE k.key = c.key AND NOT e.live AND NOT EXISTS (SELECT 1 FROM refused)
  RETURNING k.key, k.job_id
),
fresh AS (
  INSERT INTO idempotency_keys (key, job_id, expires_at, request_digest)
  SELECT c.key, c.job_id, now() + $10::bigint * interval '1 millisecond', c.request_digest
  FROM candidates c
  WHERE c.key NOT IN (SELECT key FROM existing) AND NOT EXISTS (SELECT 1 FROM refused)
  ORDER BY c.key
  RETURNING key, job_id
),
claimed AS (
  SELECT key, job_id FROM taken
  UNION ALL
  SELECT key, job_id FROM fresh
),
held AS (
  SELECT key, job_id FROM claimed
  UNION ALL
  SELECT key, job_id FROM existing WHERE live
),
inserted AS (
  INSERT INTO jobs (id, type, queue, payload, status, max_attempts, priority, timeout_ms,
                    idempotency_key, last_seq, created_at, updated_at, scheduled_at, search, schedule_id)
  SELECT i.id, i.type, i.queue, i.payload, 'pending', i.max_attempts, i.priority, i.timeout_ms,
         i.shown_key, 1, taskflow_uuid_time(i.id), now(), coalesce(i.scheduled_at, now()),
         taskflow_search_vector(i.searchable, NULL), i.schedule_id
  FROM input i
  WHERE (i.idempotency_key IS NULL OR i.id IN (SELECT job_id FROM claimed))
    AND NOT EXISTS (SELECT 1 FROM refused)
  ORDER BY i.ord
  ON CONFLICT (id) DO NOTHING
  RETURNING ${JOB_COLUMNS.join(", ")}
),
submitted AS (
  INSERT INTO job_events (job_id, seq, type, status, attempt, actor, occurred_at, reason)
  SELECT id, 1, 'submitted', 'pending', 0, $11::text, created_at, 'submitted' FROM inserted
  ON CONFLICT (job_id, seq) DO NOTHING
),
resolved AS (
  SELECT i.ord, i.id AS requested_id, ni.id IS NOT NULL AS fresh,
         CASE WHEN ni.id IS NOT NULL THEN ni.id
              ELSE coalesce((SELECT j.id FROM jobs j WHERE j.id = i.id), h.job_id) END AS id
  FROM input i
  LEFT JOIN inserted ni ON ni.id = i.id
  LEFT JOIN held h ON h.key = i.idempotency_key
),
stored AS (
  SELECT * FROM inserted
  UNION ALL
  SELECT ${JOB_COLUMNS.join(", ")} FROM jobs WHERE id IN (SELECT id FROM resolved WHERE NOT fresh)
)
SELECT (SELECT min(ord) FROM refused) AS refused_ord, ${jobColumns("s", ["payload"])},
       CASE WHEN s.id = r.requested_id THEN NULL ELSE s.payload END AS payload
FROM resolved r
LEFT JOIN stored s ON s.id = r.id
ORDER BY r.ord`;

/**
 * Reads, with a fresh snapshot, the stored job for each requested (id, idempotency key): the
 * job with that id, else the job holding the key. `key_job_id` tells a key whose job is gone
 * (deleted while the key's window still runs) from a job that vanished.
 */
export const SELECT_REQUESTED_JOBS_SQL = `
SELECT k.job_id AS key_job_id, ${jobColumns("j")}
FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS i(id, idempotency_key, ord)
LEFT JOIN idempotency_keys k ON k.key = i.idempotency_key
LEFT JOIN LATERAL (
  SELECT ${JOB_COLUMNS.join(", ")} FROM jobs
  WHERE jobs.id = i.id OR jobs.id = k.job_id
  ORDER BY jobs.id = i.id DESC
  LIMIT 1
) j ON true
ORDER BY i.ord`;

/** An idempotency key is still reserved for a job that is no longer kept. */
export class IdempotencyKeyReservedError extends Error {
  constructor(
    readonly key: string,
    readonly jobId: string,
  ) {
    super("idempotency key reserved for a job that is no longer kept");
    this.name = "IdempotencyKeyReservedError";
  }
}

/** `jobs[index]` names a key that a live holder claimed for a request with another digest. */
export class IdempotencyKeyConflictError extends Error {
  constructor(
    readonly index: number,
    readonly key: string,
  ) {
    super("idempotency key used for a different request");
    this.name = "IdempotencyKeyConflictError";
  }
}

/**
 * Concurrent submits claimed keys of the batch under every one of its {@link INSERT_MAX_ATTEMPTS}
 * statements; nothing of the batch is stored, and the same call may succeed when tried again.
 */
export class InsertRetriesExhaustedError extends Error {
  constructor(
    readonly attempts: number,
    cause: unknown,
  ) {
    super(`idempotency keys of the batch were claimed concurrently under each of ${attempts} attempts`, { cause });
    this.name = "InsertRetriesExhaustedError";
  }
}

/** SQLSTATE unique_violation, on the constraint that means "a concurrent submit claimed the key". */
const UNIQUE_VIOLATION = "23505";
const KEYS_PRIMARY_KEY = "idempotency_keys_pkey";
/** Statements tried before a batch whose keys keep being claimed under it fails. */
export const INSERT_MAX_ATTEMPTS = 3;

type InsertedRow = Omit<JobRow, "id" | "payload"> & { id: string | null; payload: JobRow["payload"] | null; refused_ord: string | null };
type RequestedRow = Omit<JobRow, "id"> & { id: string | null; key_job_id: string | null };

/**
 * Inserts `jobs` (see {@link INSERT_JOBS_SQL}); one statement for the whole batch. It runs again
 * only when a key it did not see was claimed by a concurrent submit (that attempt kept nothing),
 * and a read follows only when a holder's job committed while it ran. Run it outside a
 * transaction: the failed attempt would abort one.
 * @returns the stored row of every requested job, in request order.
 * @throws {IdempotencyKeyConflictError} when a job names a key held, within its window, for a
 *   request with another digest; nothing of the batch is stored.
 * @throws {IdempotencyKeyReservedError} when a job's key is held, within its window, by a job
 *   that has been deleted since.
 * @throws {InsertRetriesExhaustedError} when keys of the batch were claimed by concurrent
 *   submits under each of {@link INSERT_MAX_ATTEMPTS} statements; nothing of the batch is stored.
 * @throws Error when a requested job is neither inserted nor found (a concurrent delete).
 */
export async function insertJobs(
  db: Queryable,
  jobs: readonly NewJob[],
  opts: InsertJobsOptions = DEFAULT_OPTIONS,
): Promise<JobRow[]> {
  if (jobs.length === 0) return [];
  const rows = await runInsert(db, jobs, opts);
  const refused = rows[0]?.refused_ord ?? null;
  if (refused !== null) {
    const index = Number(refused) - 1;
    throw new IdempotencyKeyConflictError(index, jobs[index]?.idempotencyKey ?? "");
  }
  if (rows.every((r) => r.id !== null)) {
    return rows.map(({ refused_ord: _, ...job }, i) => ({ ...job, payload: job.payload ?? jobs[i]!.payload }) as JobRow);
  }
  return selectRequestedJobs(db, jobs, opts);
}

async function runInsert(db: Queryable, jobs: readonly NewJob[], opts: InsertJobsOptions): Promise<InsertedRow[]> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const { rows } = await db.query<InsertedRow>({
        name: "history_insert_jobs",
        text: INSERT_JOBS_SQL,
        values: [
          jobs.map((j) => j.id),
          jobs.map((j) => j.type),
          jobs.map((j) => j.queue),
          JSON.stringify(jobs.map((j) => j.payload)),
          jobs.map((j) => j.maxAttempts),
          jobs.map((j) => j.priority),
          jobs.map((j) => j.timeoutMs),
          claimKeys(jobs, opts.actor ?? "api"),
          jobs.map((j) => j.scheduledAt?.toISOString() ?? null),
          opts.idempotencyWindowMs,
          opts.actor ?? "api",
          jobs.map((j) => j.requestDigest),
          searchablePayloads(jobs, opts.secretKeys ?? DEFAULT_SECRET_PAYLOAD_KEYS),
          jobs.map((j) => j.idempotencyKey),
          jobs.map((j) => j.scheduleId),
        ],
      });
      return rows;
    } catch (err) {
      if (!isConcurrentClaim(err)) throw err;
      if (attempt >= INSERT_MAX_ATTEMPTS) throw new InsertRetriesExhaustedError(attempt, err);
    }
  }
}

/**
 * `$13` of {@link INSERT_JOBS_SQL}, as one JSON array: per job, its payload with the value of
 * every secret-named key nulled, or null when it has none (`maskSecrets` then returns the payload
 * itself).
 */
export function searchablePayloads(jobs: readonly { payload: JsonObject }[], secretKeys: readonly string[]): string {
  return JSON.stringify(
    jobs.map((j) => {
      const searchable = maskSecrets(j.payload, secretKeys, null);
      return searchable === j.payload ? null : searchable;
    }),
  );
}

/** Whether `err` is the statement meeting a key that a submit claimed after its snapshot. */
function isConcurrentClaim(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return e?.code === UNIQUE_VIOLATION && e.constraint === KEYS_PRIMARY_KEY;
}

/**
 * The keys the jobs claim in `idempotency_keys`: each job's idempotency key in the scope of the
 * actor that submits it (`api:<name>` of the verified caller), so one caller's key neither finds
 * nor blocks another's job. The job row keeps the key as the caller gave it.
 */
export const claimKeys = (jobs: readonly { idempotencyKey: string | null }[], actor: string): (string | null)[] =>
  jobs.map((j) => (j.idempotencyKey === null ? null : `${actor}\n${j.idempotencyKey}`));

async function selectRequestedJobs(db: Queryable, jobs: readonly NewJob[], opts: InsertJobsOptions): Promise<JobRow[]> {
  const { rows } = await db.query<RequestedRow>({
    name: "history_select_requested_jobs",
    text: SELECT_REQUESTED_JOBS_SQL,
    values: [jobs.map((j) => j.id), claimKeys(jobs, opts.actor ?? "api")],
  });
  return rows.map((row, i) => {
    const { key_job_id: keyJobId, ...job } = row;
    if (job.id !== null) return { ...job, id: job.id };
    const key = jobs[i]?.idempotencyKey;
    if (key != null && keyJobId !== null) throw new IdempotencyKeyReservedError(key, keyJobId);
    throw new Error("inserted jobs could not be read back");
  });
}
