import { randomBytes } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "@taskflow/testkit";
import pg from "pg";
import pino from "pino";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HistoryIngestService, HistoryService } from "@taskflow/proto";
import { HISTORY_DEFAULTS } from "../src/config.js";
import { type RunningHistory, startHistory } from "../src/start-history.js";
import { migrate } from "../src/db/migrate.js";
import { endPool } from "../src/db/pool.js";
import type { NewJobEvent } from "../src/db/queries/append-events.js";
import type { NewJob } from "../src/db/queries/insert-jobs.js";

/** A silent logger for code under test. */
export const quietLogger = pino({ level: "silent" });

let lastMs = 0;
let counter = 0;

/**
 * A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits. Within one millisecond a
 * counter in rand_a keeps ids increasing, as the scheduler's generator does.
 */
export function uuidv7(now = Date.now()): string {
  if (now <= lastMs) {
    counter += 1;
    if (counter > 0xfff) {
      lastMs += 1;
      counter = 0;
    }
  } else {
    lastMs = now;
    counter = 0;
  }
  const b = randomBytes(16);
  b.writeUIntBE(lastMs, 0, 6);
  b[6] = 0x70 | (counter >> 8);
  b[7] = counter & 0xff;
  b[8] = 0x80 | ((b[8] ?? 0) & 0x3f);
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * A UUIDv7 of exactly millisecond `ms`, random otherwise. Unlike the fixtures' `uuidv7`, which
 * never goes back in time, it makes ids of any past day in any order.
 */
export function uuidAt(ms: number): string {
  const b = randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | ((b[6] ?? 0) & 0x0f);
  b[8] = 0x80 | ((b[8] ?? 0) & 0x3f);
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A migrated database of its own and a pool on it; `close()` ends the pool and drops it. */
export interface DbFixture {
  db: TestDatabase;
  pool: pg.Pool;
  close(): Promise<void>;
}

export async function setupDatabase(): Promise<DbFixture> {
  const db = await createTestDatabase();
  await migrate(db.url);
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  return {
    db,
    pool,
    close: async () => {
      await endPool(pool);
      await db.drop();
    },
  };
}

/** A job to insert, with every field set; override what the test is about. */
export function makeJob(over: Partial<NewJob> = {}): NewJob {
  return {
    id: uuidv7(),
    type: "email.send",
    queue: "default",
    payload: { to: "a@example.com", n: 1 },
    maxAttempts: 3,
    priority: 0,
    timeoutMs: null,
    idempotencyKey: null,
    scheduledAt: new Date("2030-01-01T00:00:00.000Z"),
    requestDigest: null,
    scheduleId: null,
    ...over,
  };
}

/** An event of `jobId`; override what the test is about. */
export function makeEvent(jobId: string, over: Partial<NewJobEvent> & Pick<NewJobEvent, "seq" | "type" | "status">): NewJobEvent {
  return {
    jobId,
    attempt: 0,
    workerId: null,
    error: null,
    actor: "scheduler:test",
    result: undefined,
    details: null,
    occurredAt: new Date(Date.UTC(2030, 0, 1, 0, 0, over.seq)),
    leaseId: null,
    reason: null,
    ...over,
  };
}

/** Resolves once some session of the pool's database waits on a lock. */
export async function waitForLockWaiter(pool: pg.Pool): Promise<void> {
  for (;;) {
    const { rows } = await pool.query(
      "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    if (rows.length > 0) return;
    await new Promise((r) => setImmediate(r));
  }
}

/** A logger that keeps every line, parsed, for tests that check what was logged. */
export function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "debug" }, { write: (msg: string) => void lines.push(JSON.parse(msg) as Record<string, unknown>) });
  return { logger, lines };
}

/** Two history replicas on one database of their own: one writes (ingest), the other is read from. */
export interface TwoReplicas {
  db: TestDatabase;
  writer: RunningHistory;
  reader: RunningHistory;
  /** Ingest calls to the writer's internal listener. */
  ingest: Client<typeof HistoryIngestService>;
  /** HistoryService calls to the reader's public listener. */
  reads: Client<typeof HistoryService>;
  close(): Promise<void>;
}

export async function startTwoReplicas(): Promise<TwoReplicas> {
  const db = await createTestDatabase();
  const config = { ...HISTORY_DEFAULTS, port: 0, internalPort: 0, databaseUrl: db.url };
  const writer = await startHistory(config, { logger: quietLogger });
  const reader = await startHistory(config, { logger: quietLogger });
  return {
    db,
    writer,
    reader,
    ingest: createClient(HistoryIngestService, createGrpcTransport({ baseUrl: writer.internalUrl })),
    reads: createClient(HistoryService, createGrpcTransport({ baseUrl: reader.url })),
    close: async () => {
      await writer.close();
      await reader.close();
      await db.drop();
    },
  };
}
