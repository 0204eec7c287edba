import { ConfigReader, DEFAULT_SECRET_PAYLOAD_KEYS, readAuthConfig, readCredentialFiles, readTlsFiles, readTracingConfig, type AuthConfig, type CredentialFiles, type TracingConfig } from "@taskflow/service-kit";
import { parseClusterNode, type ClusterNode, type RedisTarget } from "./redis/redis-client.js";
import { defaultBurst, MAX_BURST, MAX_RATE_PER_S, parseRateOverrides, type SubmitRates } from "./submit-rate.js";

/** Scheduler settings, read once from the environment. */
export interface SchedulerConfig {
  /** Interface the server binds to (SCHEDULER_HOST). */
  readonly host: string;
  /** Port the server listens on; 0 picks a free one (SCHEDULER_PORT). */
  readonly port: number;
  /** Redis holding the queues (REDIS_URL), unless `redisClusterNodes` names a cluster. */
  readonly redisUrl: string;
  /**
   * Seed nodes of the Redis Cluster holding the queues (REDIS_CLUSTER_NODES, comma-separated
   * `host:port` or `redis://[user:password@]host:port`, `rediss://` for TLS; credentials and
   * TLS of the first apply to every node); empty: one Redis at `redisUrl`. When set, it wins
   * over REDIS_URL.
   */
  readonly redisClusterNodes: readonly ClusterNode[];
  /**
   * Prefix of every Redis key, so several deployments can share one Redis (REDIS_KEY_PREFIX).
   * Without `{` or `}`: the queue name in braces is each key's Redis Cluster hash tag.
   */
  readonly redisKeyPrefix: string;
  /** Base URL of the history service (HISTORY_URL). */
  readonly historyUrl: string;
  /** How long a lease lasts without a heartbeat, in ms (LEASE_MS). */
  readonly leaseMs: number;
  /** Period of the background loops, in ms (SWEEP_INTERVAL_MS). */
  readonly sweepIntervalMs: number;
  /**
   * Period of the sweep promoting due delayed jobs of every queue, in ms
   * (PROMOTE_SWEEP_INTERVAL_MS). A safety net only: a timer per replica promotes each job at
   * its due time; the sweep catches a due time the timer never heard of (a replica that
   * crashed before announcing it, a message lost while reconnecting), this much late at most.
   */
  readonly promoteSweepIntervalMs: number;
  /** Timeout of one attempt when the submit names none, in ms (DEFAULT_TIMEOUT_MS). */
  readonly defaultTimeoutMs: number;
  /** Most jobs one SubmitJobs call may carry (MAX_SUBMIT_BATCH). */
  readonly maxSubmitBatch: number;
  /** Largest payload (and result) as JSON text, in bytes (MAX_PAYLOAD_BYTES). */
  readonly maxPayloadBytes: number;
  /**
   * How fast each identity may submit jobs, one bucket per identity shared by every replica in
   * Redis (SUBMIT_RATE_PER_S, jobs per second, default 0: no limit; SUBMIT_BURST, jobs, default
   * ten seconds of the rate and at least MAX_SUBMIT_BATCH; SUBMIT_RATE_OVERRIDES,
   * `name=rate[:burst],...`).
   */
  readonly submitRates: SubmitRates;
  /**
   * Inserts into history of concurrent submits (without idempotency keys) in flight at once per
   * caller (SUBMIT_GROUPS_IN_FLIGHT); submits arriving meanwhile are committed together next.
   */
  readonly submitGroupsInFlight: number;
  /** First retry delay, doubled per attempt, in ms (RETRY_BASE_MS). */
  readonly retryBaseMs: number;
  /** Cap of the retry delay, in ms (RETRY_MAX_MS). */
  readonly retryMaxMs: number;
  /** Most outbox events sent to history per call (OUTBOX_BATCH_SIZE). */
  readonly outboxBatchSize: number;
  /**
   * Most bytes of outbox events sent to history per call (OUTBOX_BATCH_MAX_BYTES); an event
   * larger than this goes alone. Keep it well below history's read limit (16 MiB).
   */
  readonly outboxBatchMaxBytes: number;
  /**
   * Most bytes of payloads one LeaseJobs answer carries (LEASE_MAX_BYTES); the first job goes
   * whatever its size, so any job the API accepted can be leased.
   */
  readonly leaseMaxBytes: number;
  /**
   * How long outbox entries may stay read but unacknowledged by a scheduler before another
   * replica takes them over, in ms (OUTBOX_CLAIM_IDLE_MS). This is how soon the transitions a
   * crashed scheduler had in hand reach history.
   */
  readonly outboxClaimIdleMs: number;
  /** pino level (LOG_LEVEL). */
  readonly logLevel: string;
  /** Key names whose values are masked wherever a log line holds them (SECRET_PAYLOAD_KEYS). */
  readonly secretPayloadKeys: readonly string[];
  /** Period of the reconciler comparing PostgreSQL with Redis, in ms (RECONCILE_INTERVAL_MS). */
  readonly reconcileIntervalMs: number;
  /**
   * Age a job (by its id's time) must reach before the reconciler repairs it, in ms
   * (RECONCILE_GRACE_MS): a submit in flight is never taken for a lost job.
   */
  readonly reconcileGraceMs: number;
  /** Most jobs each pass of a periodic reconciliation checks (RECONCILE_MAX_JOBS); the next run goes on. */
  readonly reconcileMaxJobs: number;
  /**
   * How long a queue must hold nothing and receive nothing before the loops stop sweeping it,
   * in ms (QUEUE_IDLE_MS); also how long an outbox consumer of a gone process lingers.
   */
  readonly queueIdleMs: number;
  /** Period of the upkeep of the queue set (forgetting idle queues), in ms (QUEUE_TEND_INTERVAL_MS). */
  readonly queueTendIntervalMs: number;
  /**
   * Start even when Redis may evict keys (REDIS_ALLOW_EVICTION, "true" or "false"); evicted
   * queue keys lose jobs, so without it a maxmemory-policy other than noeviction refuses to start.
   */
  readonly redisAllowEviction: boolean;
  /**
   * Testing only, never set in a deployment (FAULT_CRASH_AFTER_HISTORY_COMMIT, "true" or
   * "false", default false): a submit kills the process with SIGKILL right after history
   * committed its jobs and before they are enqueued in Redis, so the fault suite can prove
   * that reconciliation enqueues them. See `faults.ts`.
   */
  readonly faultCrashAfterHistoryCommit: boolean;
  /**
   * Testing only, never set in a deployment (REDIS_CHECK_SCRIPT_KEYS, "true" or "false", default
   * false): every Lua script fails when it touches a key it did not declare in KEYS, or declares
   * keys of more than one hash tag, so tests on one Redis catch what Redis Cluster would refuse.
   */
  readonly checkScriptKeys: boolean;
  /** Who may call (AUTH_* and TLS_CLIENT_CA_FILE). */
  readonly auth: AuthConfig;
  /** The listener's certificate and key (TLS_CERT_FILE, TLS_KEY_FILE); empty: h2c in the clear. */
  readonly tls: { readonly certFile: string; readonly keyFile: string };
  /** What the scheduler presents to history's internal listener (HISTORY_TOKEN_FILE, HISTORY_CA_FILE, HISTORY_CERT_FILE, HISTORY_KEY_FILE). */
  readonly historyCredentials: CredentialFiles;
  /** How often each replica looks for due schedules, in ms (SCHEDULE_POLL_INTERVAL_MS): how late a tick may fire. */
  readonly schedulePollIntervalMs: number;
  /**
   * A schedule's tick reached later than this after its time counts as missed, in ms
   * (SCHEDULE_MISFIRE_MS): all replicas were down, or Redis lost its data. Missed ticks run only
   * up to the schedule's catch_up.
   */
  readonly scheduleMisfireMs: number;
  /** Largest catch_up a schedule may have (SCHEDULE_MAX_CATCH_UP). */
  readonly scheduleMaxCatchUp: number;
  /**
   * How long a replica may take to submit the runs it claimed before another replica takes the
   * firing over and submits them again (their idempotency keys yield the same jobs), in ms
   * (SCHEDULE_FIRING_LEASE_MS).
   */
  readonly scheduleFiringLeaseMs: number;
  /** Where spans go (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME); no endpoint: tracing off. */
  readonly tracing: TracingConfig;
}

const DEFAULTS = {
  host: "127.0.0.1",
  port: 50051,
  redisUrl: "redis://127.0.0.1:6379",
  redisKeyPrefix: "tf",
  historyUrl: "http://127.0.0.1:50054",
  leaseMs: 30_000,
  sweepIntervalMs: 1_000,
  promoteSweepIntervalMs: 5_000,
  defaultTimeoutMs: 300_000,
  maxSubmitBatch: 1_000,
  submitGroupsInFlight: 2,
  maxPayloadBytes: 1_048_576,
  retryBaseMs: 1_000,
  retryMaxMs: 3_600_000,
  outboxBatchSize: 500,
  outboxBatchMaxBytes: 4 * 1_048_576,
  leaseMaxBytes: 4 * 1_048_576,
  outboxClaimIdleMs: 15_000,
  logLevel: "info",
  secretPayloadKeys: DEFAULT_SECRET_PAYLOAD_KEYS,
  reconcileIntervalMs: 30_000,
  reconcileGraceMs: 60_000,
  reconcileMaxJobs: 10_000,
  queueIdleMs: 600_000,
  queueTendIntervalMs: 60_000,
  schedulePollIntervalMs: 250,
  scheduleMisfireMs: 5_000,
  scheduleMaxCatchUp: 10,
  scheduleFiringLeaseMs: 15_000,
} as const;

const DAY_MS = 86_400_000;

/**
 * Reads the scheduler's settings.
 * @throws ConfigError listing every missing or malformed variable at once.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): SchedulerConfig {
  const r = new ConfigReader(env);
  const maxSubmitBatch = r.int("MAX_SUBMIT_BATCH", DEFAULTS.maxSubmitBatch, { min: 1, max: 10_000 });
  const config: SchedulerConfig = {
    host: r.string("SCHEDULER_HOST", DEFAULTS.host),
    port: r.int("SCHEDULER_PORT", DEFAULTS.port, { min: 0, max: 65_535 }),
    redisUrl: r.url("REDIS_URL", DEFAULTS.redisUrl),
    redisClusterNodes: readClusterNodes(r),
    redisKeyPrefix: readKeyPrefix(r),
    historyUrl: r.url("HISTORY_URL", DEFAULTS.historyUrl),
    leaseMs: r.int("LEASE_MS", DEFAULTS.leaseMs, { min: 100, max: DAY_MS }),
    sweepIntervalMs: r.int("SWEEP_INTERVAL_MS", DEFAULTS.sweepIntervalMs, { min: 10, max: 60_000 }),
    promoteSweepIntervalMs: r.int("PROMOTE_SWEEP_INTERVAL_MS", DEFAULTS.promoteSweepIntervalMs, { min: 10, max: 3_600_000 }),
    defaultTimeoutMs: r.int("DEFAULT_TIMEOUT_MS", DEFAULTS.defaultTimeoutMs, { min: 1_000, max: DAY_MS }),
    maxSubmitBatch,
    submitGroupsInFlight: r.int("SUBMIT_GROUPS_IN_FLIGHT", DEFAULTS.submitGroupsInFlight, { min: 1, max: 64 }),
    maxPayloadBytes: r.int("MAX_PAYLOAD_BYTES", DEFAULTS.maxPayloadBytes, { min: 2, max: 16 * 1_048_576 }),
    submitRates: readSubmitRates(r, maxSubmitBatch),
    retryBaseMs: r.int("RETRY_BASE_MS", DEFAULTS.retryBaseMs, { min: 1, max: DAY_MS }),
    retryMaxMs: r.int("RETRY_MAX_MS", DEFAULTS.retryMaxMs, { min: 1, max: 7 * DAY_MS }),
    outboxBatchSize: r.int("OUTBOX_BATCH_SIZE", DEFAULTS.outboxBatchSize, { min: 1, max: 10_000 }),
    outboxBatchMaxBytes: r.int("OUTBOX_BATCH_MAX_BYTES", DEFAULTS.outboxBatchMaxBytes, { min: 1_024, max: 8 * 1_048_576 }),
    leaseMaxBytes: r.int("LEASE_MAX_BYTES", DEFAULTS.leaseMaxBytes, { min: 1_024, max: 64 * 1_048_576 }),
    outboxClaimIdleMs: r.int("OUTBOX_CLAIM_IDLE_MS", DEFAULTS.outboxClaimIdleMs, { min: 100, max: 3_600_000 }),
    logLevel: r.string("LOG_LEVEL", DEFAULTS.logLevel),
    secretPayloadKeys: r.keyNames("SECRET_PAYLOAD_KEYS", DEFAULT_SECRET_PAYLOAD_KEYS),
    reconcileIntervalMs: r.int("RECONCILE_INTERVAL_MS", DEFAULTS.reconcileIntervalMs, { min: 100, max: DAY_MS }),
    reconcileGraceMs: r.int("RECONCILE_GRACE_MS", DEFAULTS.reconcileGraceMs, { min: 0, max: DAY_MS }),
    reconcileMaxJobs: r.int("RECONCILE_MAX_JOBS", DEFAULTS.reconcileMaxJobs, { min: 100, max: 10_000_000 }),
    queueIdleMs: r.int("QUEUE_IDLE_MS", DEFAULTS.queueIdleMs, { min: 1_000, max: 30 * DAY_MS }),
    queueTendIntervalMs: r.int("QUEUE_TEND_INTERVAL_MS", DEFAULTS.queueTendIntervalMs, { min: 100, max: DAY_MS }),
    schedulePollIntervalMs: r.int("SCHEDULE_POLL_INTERVAL_MS", DEFAULTS.schedulePollIntervalMs, { min: 10, max: 60_000 }),
    scheduleMisfireMs: r.int("SCHEDULE_MISFIRE_MS", DEFAULTS.scheduleMisfireMs, { min: 0, max: DAY_MS }),
    scheduleMaxCatchUp: r.int("SCHEDULE_MAX_CATCH_UP", DEFAULTS.scheduleMaxCatchUp, { min: 0, max: 1_000 }),
    scheduleFiringLeaseMs: r.int("SCHEDULE_FIRING_LEASE_MS", DEFAULTS.scheduleFiringLeaseMs, { min: 100, max: 3_600_000 }),
    redisAllowEviction: r.oneOf("REDIS_ALLOW_EVICTION", "false", ["true", "false"]) === "true",
    faultCrashAfterHistoryCommit: r.oneOf("FAULT_CRASH_AFTER_HISTORY_COMMIT", "false", ["true", "false"]) === "true",
    checkScriptKeys: r.oneOf("REDIS_CHECK_SCRIPT_KEYS", "false", ["true", "false"]) === "true",
    auth: readAuthConfig(r),
    tls: readTlsFiles(r),
    historyCredentials: readCredentialFiles(r, "HISTORY"),
    tracing: readTracingConfig(r),
  };
  r.done();
  return Object.freeze(config);
}

/** The cluster's seed nodes; none unless REDIS_CLUSTER_NODES is set. */
function readClusterNodes(r: ConfigReader): ClusterNode[] {
  const nodes: ClusterNode[] = [];
  for (const text of r.list("REDIS_CLUSTER_NODES", [])) {
    const node = parseClusterNode(text);
    if (typeof node === "string") {
      r.invalid("REDIS_CLUSTER_NODES", node);
      return [];
    }
    nodes.push(node);
  }
  return nodes;
}

function readKeyPrefix(r: ConfigReader): string {
  const prefix = r.string("REDIS_KEY_PREFIX", DEFAULTS.redisKeyPrefix);
  if (!/[{}]/.test(prefix)) return prefix;
  r.invalid("REDIS_KEY_PREFIX", "must not hold { or } (the queue in braces is the key's hash tag)");
  return DEFAULTS.redisKeyPrefix;
}

/** The submit rate limits; an unset burst is derived from the rate (see defaultBurst). */
function readSubmitRates(r: ConfigReader, maxSubmitBatch: number): SubmitRates {
  const ratePerS = r.int("SUBMIT_RATE_PER_S", 0, { min: 0, max: MAX_RATE_PER_S });
  const burst = r.int("SUBMIT_BURST", defaultBurst(ratePerS, maxSubmitBatch), { min: 1, max: MAX_BURST });
  const overrides = parseRateOverrides(r.string("SUBMIT_RATE_OVERRIDES", ""), maxSubmitBatch);
  if (typeof overrides === "string") r.invalid("SUBMIT_RATE_OVERRIDES", overrides);
  return { default: { ratePerS, burst }, overrides: typeof overrides === "string" ? new Map() : overrides };
}

/** Where the scheduler's queues live, from its settings. */
export const redisTargetOf = (config: SchedulerConfig): RedisTarget =>
  config.redisClusterNodes.length > 0 ? { clusterNodes: config.redisClusterNodes } : { url: config.redisUrl };
