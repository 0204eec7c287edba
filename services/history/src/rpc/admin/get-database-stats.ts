import type { MessageInitShape } from "@bufbuild/protobuf";
import { type DurationSchema, timestampFromDate, timestampNow, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type {
  HistoryAdminService,
  IndexStatsSchema,
  LockWaitSchema,
  PoolStatsSchema,
  ReplicationStatsSchema,
  ServerStatementSchema,
  StatementTimingSchema,
  TableStatsSchema,
} from "@taskflow/proto";
import type pg from "pg";
import {
  type IndexStatsRow,
  type LockWaitRow,
  readIndexStats,
  readLockWaits,
  readReplicaState,
  readServerStatements,
  readStandbys,
  readTableStats,
  type ReplicaStateRow,
  type ServerStatementRow,
  type StandbyRow,
  type TableStatsRow,
} from "../../db/queries/database-stats.js";
import { withSizeLockTimeout } from "../../db/queries/relation-sizes.js";
import type { StatementTiming } from "../../db/statements.js";
import type { HistoryDeps } from "../deps.js";
import { intIn } from "../validate.js";

/** Statements per ranking when the request leaves `statements_limit` at 0. */
export const STATEMENTS_LIMIT_DEFAULT = 20;
/** Most statements per ranking a request may ask for. */
export const STATEMENTS_LIMIT_MAX = 100;
/** Query texts (lock waiters, pg_stat_statements) are cut to this many characters. */
export const QUERY_TEXT_MAX_CHARS = 1_024;

/** pg's own default, for a pool created without `max`. */
const PG_DEFAULT_POOL_MAX = 10;

/**
 * GetDatabaseStats: pools, this process's statement timings, pg_stat_statements, table and
 * index sizes, lock waits and replication, read from the primary (the replica state from the
 * read pool). A view the role may not read leaves its section empty, and a read replica that
 * does not answer leaves its fields unset (with a warning logged), so the call still reports
 * what it can. InvalidArgument for a statements_limit outside 0..100.
 */
export const getDatabaseStats =
  (d: HistoryDeps): ServiceImpl<typeof HistoryAdminService>["getDatabaseStats"] =>
  async (req) => {
    const limit =
      req.statementsLimit === 0
        ? STATEMENTS_LIMIT_DEFAULT
        : intIn(req.statementsLimit, 1, STATEMENTS_LIMIT_MAX, "statements_limit");
    const replicaConfigured = d.config.databaseReadUrl !== "";
    const [tables, indexes, lockWaits, server, standbys, replica] = await Promise.all([
      withSizeLockTimeout(d.pool, d.timings, readTableStats),
      withSizeLockTimeout(d.pool, d.timings, readIndexStats),
      readLockWaits(d.db, QUERY_TEXT_MAX_CHARS),
      readServerStatements(d.db, limit, QUERY_TEXT_MAX_CHARS),
      readStandbys(d.db),
      replicaConfigured ? probeReplica(d) : undefined,
    ]);
    const timings = d.timings.snapshot();
    return {
      collectedAt: timestampNow(),
      pools: [poolStats("primary", d.pool), ...(replicaConfigured ? [poolStats("replica", d.readPool)] : [])],
      slowestStatements: top(timings, (a, b) => b.totalMs - a.totalMs, limit).map(timingToProto),
      frequentStatements: top(timings, (a, b) => b.calls - a.calls, limit).map(timingToProto),
      pgStatStatementsAvailable: server !== undefined,
      serverStatements: (server ?? []).map(serverStatementToProto),
      tables: tables.map(tableToProto),
      indexes: indexes.map(indexToProto),
      lockWaits: lockWaits.map(lockWaitToProto),
      replication: replication(replicaConfigured, replica, standbys),
    };
  };

/** The read replica's state, or undefined when it does not answer (it may be down or failing over). */
async function probeReplica(d: HistoryDeps): Promise<ReplicaStateRow | undefined> {
  try {
    return await readReplicaState(d.readDb);
  } catch (err) {
    d.logger.warn({ err }, "read replica did not answer the database stats probe");
    return undefined;
  }
}

/** The first `limit` of `timings` in `order`, ties by name so the ranking is stable. */
function top(timings: StatementTiming[], order: (a: StatementTiming, b: StatementTiming) => number, limit: number) {
  return [...timings].sort((a, b) => order(a, b) || a.name.localeCompare(b.name)).slice(0, limit);
}

/**
 * A Duration of `ms` milliseconds, rounded to whole nanoseconds (durationFromMs would carry a
 * fraction into `nanos`, which must be an integer).
 */
export function durationOfMs(ms: number): MessageInitShape<typeof DurationSchema> {
  const nanos = BigInt(Math.round(ms * 1e6));
  return { seconds: nanos / 1_000_000_000n, nanos: Number(nanos % 1_000_000_000n) };
}

const optionalDuration = (ms: number | null) => (ms === null ? undefined : durationOfMs(ms));
const ts = (d: Date | null): Timestamp | undefined => (d === null ? undefined : timestampFromDate(d));

function poolStats(name: string, pool: pg.Pool): MessageInitShape<typeof PoolStatsSchema> {
  return {
    name,
    total: pool.totalCount,
    idle: pool.idleCount,
    waiting: pool.waitingCount,
    max: pool.options.max ?? PG_DEFAULT_POOL_MAX,
  };
}

function timingToProto(t: StatementTiming): MessageInitShape<typeof StatementTimingSchema> {
  return {
    name: t.name,
    calls: BigInt(t.calls),
    errors: BigInt(t.errors),
    total: durationOfMs(t.totalMs),
    mean: durationOfMs(t.meanMs),
    p95: durationOfMs(t.p95Ms),
    max: durationOfMs(t.maxMs),
  };
}

function serverStatementToProto(s: ServerStatementRow): MessageInitShape<typeof ServerStatementSchema> {
  return {
    query: s.query,
    calls: BigInt(s.calls),
    total: durationOfMs(s.total_ms),
    mean: durationOfMs(s.mean_ms),
    rows: BigInt(s.rows),
  };
}

function tableToProto(t: TableStatsRow): MessageInitShape<typeof TableStatsSchema> {
  return {
    name: t.name,
    parent: t.parent,
    totalBytes: BigInt(t.total_bytes),
    indexBytes: BigInt(t.index_bytes),
    growthBytesPerDay: BigInt(t.growth_bytes_per_day),
    liveTuples: BigInt(t.live_tuples),
    deadTuples: BigInt(t.dead_tuples),
    lastVacuum: ts(t.last_vacuum),
    lastAutovacuum: ts(t.last_autovacuum),
    lastAnalyze: ts(t.last_analyze),
    lastAutoanalyze: ts(t.last_autoanalyze),
  };
}

function indexToProto(i: IndexStatsRow): MessageInitShape<typeof IndexStatsSchema> {
  return { name: i.name, table: i.table, bytes: BigInt(i.bytes), scans: BigInt(i.scans) };
}

function lockWaitToProto(w: LockWaitRow): MessageInitShape<typeof LockWaitSchema> {
  return {
    pid: w.pid,
    query: w.query,
    lockType: w.lock_type,
    mode: w.mode,
    relation: w.relation,
    waiting: optionalDuration(w.waiting_ms),
    blockingPids: w.blocking_pids,
  };
}

function replication(
  configured: boolean,
  replica: ReplicaStateRow | undefined,
  standbys: StandbyRow[],
): MessageInitShape<typeof ReplicationStatsSchema> {
  return {
    readReplicaConfigured: configured,
    readReplicaInRecovery: replica?.in_recovery ?? false,
    readReplicaLag: optionalDuration(replica?.lag_ms ?? null),
    standbys: standbys.map((s) => ({
      applicationName: s.application_name,
      clientAddr: s.client_addr,
      state: s.state,
      writeLag: optionalDuration(s.write_lag_ms),
      flushLag: optionalDuration(s.flush_lag_ms),
      replayLag: optionalDuration(s.replay_lag_ms),
    })),
  };
}
