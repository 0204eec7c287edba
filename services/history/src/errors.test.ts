import { createServer as createNetServer } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { createTestDatabase, type TestDatabase } from "@taskflow/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { endPool } from "./db/pool.js";
import {
  IdempotencyKeyConflictError,
  IdempotencyKeyReservedError,
  InsertRetriesExhaustedError,
} from "./db/queries/insert-jobs.js";
import { CommitError } from "./db/transaction.js";
import { invalidArgument, mapError } from "./errors.js";
import { ArchiveError } from "./retention/archive.js";

/** The error `work` rejects with; fails the test when it resolves. */
async function failureOf(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (err) {
    return err;
  }
  throw new Error("expected a failure");
}

/** What a caller sees for `err`: code and message, or undefined where the kit answers `internal`. */
function answered(err: unknown): { code: Code; message: string } | undefined {
  const mapped = mapError(err);
  return mapped && { code: mapped.error.code, message: mapped.error.rawMessage };
}

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("mapError: history's own failures", () => {
  it("passes a handler's ConnectError through unchanged", () => {
    const err = invalidArgument("jobs[0].id: must be a UUID");
    expect(mapError(err)?.error).toBe(err);
  });

  it("answers idempotency key refusals as already_exists, with the messages callers know", () => {
    expect(answered(new IdempotencyKeyConflictError(3, "k-1"))).toEqual({
      code: Code.AlreadyExists,
      message: 'jobs[3].idempotency_key: "k-1" was used for a different request within the idempotency window; use another key',
    });
    expect(answered(new IdempotencyKeyReservedError("k-2", "0190a000-0000-7000-8000-000000000000"))).toEqual({
      code: Code.AlreadyExists,
      message: 'idempotency_key: "k-2" belongs to job 0190a000-0000-7000-8000-000000000000, which is no longer kept; use another key',
    });
  });

  it("answers insert retries used up by concurrent key claims as unavailable, so the caller retries", () => {
    const mapped = mapError(new InsertRetriesExhaustedError(3, new Error("unique violation")));
    expect(mapped?.error.code).toBe(Code.Unavailable);
    expect(mapped?.error.rawMessage).toBe("idempotency keys of the batch were claimed by concurrent submits; retry");
    expect(mapped?.database).toBeUndefined();
  });

  it("answers an unwritable archive as failed_precondition with its message", () => {
    const err = new ArchiveError(new Error("ENOSPC: no space left on device"));
    expect(answered(err)).toEqual({ code: Code.FailedPrecondition, message: err.message });
  });

  it("leaves anything else to the kit, which answers internal", () => {
    expect(mapError(new Error("inserted jobs could not be read back"))).toBeUndefined();
    expect(mapError("a string")).toBeUndefined();
  });
});

describe("mapError: failures of PostgreSQL and the driver, as they really come", () => {
  let db: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    await pool.query(`
      CREATE TABLE parents (id int PRIMARY KEY);
      CREATE TABLE children (id int PRIMARY KEY, parent_id int REFERENCES parents, n int NOT NULL CHECK (n > 0));
      INSERT INTO parents VALUES (1), (2);`);
  });
  afterAll(async () => {
    if (pool) await endPool(pool);
    await db?.drop();
  });

  /** Runs `body` on a client of its own, rolling back whatever transaction it leaves open. */
  const session = async <T>(body: (c: pg.PoolClient) => Promise<T>): Promise<T> => {
    const c = await pool.connect();
    try {
      return await body(c);
    } finally {
      await c.query("ROLLBACK").catch(() => undefined);
      c.release();
    }
  };

  it("answers constraint violations by kind, naming the constraint and none of the values", async () => {
    const unique = await failureOf(pool.query("INSERT INTO parents VALUES (1)"));
    const foreign = await failureOf(pool.query("INSERT INTO children VALUES (1, 99, 1)"));
    const check = await failureOf(pool.query("INSERT INTO children VALUES (1, 1, 0)"));
    const notNull = await failureOf(pool.query("INSERT INTO children VALUES (1, 1, NULL)"));

    expect(answered(unique)).toEqual({ code: Code.AlreadyExists, message: "a row with the same key exists already (constraint parents_pkey)" });
    expect(answered(foreign)).toEqual({
      code: Code.FailedPrecondition,
      message: "a row it refers to does not exist (constraint children_parent_id_fkey)",
    });
    expect(answered(check)).toEqual({ code: Code.InvalidArgument, message: "a value is outside what the schema allows (constraint children_n_check)" });
    expect(answered(notNull)).toEqual({ code: Code.InvalidArgument, message: "a required value is missing" });
    expect(mapError(unique)?.database).toEqual({ code: "23505" });
  });

  it("answers statement and lock timeouts as unavailable", async () => {
    const statement = await session(async (c) => {
      await c.query("BEGIN; SET LOCAL statement_timeout = 50");
      return failureOf(c.query("SELECT pg_sleep(5)"));
    });
    const lock = await session(async (holder) => {
      await holder.query("BEGIN");
      await holder.query("LOCK TABLE parents IN ACCESS EXCLUSIVE MODE");
      return session(async (c) => {
        await c.query("BEGIN; SET LOCAL lock_timeout = 50");
        return failureOf(c.query("SELECT * FROM parents"));
      });
    });

    expect(answered(statement)).toEqual({ code: Code.Unavailable, message: "database busy: a statement ran past its time limit; retry" });
    expect(answered(lock)).toEqual({ code: Code.Unavailable, message: "database busy: a lock wait ran past its time limit; retry" });
  });

  it("answers a serialization failure and a deadlock as unavailable", async () => {
    const serialization = await session(async (a) => {
      await a.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
      await a.query("SELECT * FROM parents");
      await pool.query("UPDATE parents SET id = id WHERE id = 1");
      return failureOf(a.query("UPDATE parents SET id = id WHERE id = 1"));
    });
    const deadlock = await session((a) =>
      session(async (b) => {
        for (const c of [a, b]) await c.query("BEGIN; SET LOCAL deadlock_timeout = 50");
        await a.query("SELECT * FROM parents WHERE id = 1 FOR UPDATE");
        await b.query("SELECT * FROM parents WHERE id = 2 FOR UPDATE");
        const first = a.query("SELECT * FROM parents WHERE id = 2 FOR UPDATE").catch((err: unknown) => err);
        const second = b.query("SELECT * FROM parents WHERE id = 1 FOR UPDATE").catch((err: unknown) => err);
        const outcomes = await Promise.all([first, second]);
        return outcomes.find((o) => o instanceof Error);
      }),
    );

    expect(answered(serialization)).toEqual({
      code: Code.Unavailable,
      message: "transaction conflicted with a concurrent one (serialization failure); retry",
    });
    expect(answered(deadlock)).toEqual({ code: Code.Unavailable, message: "transaction conflicted with a concurrent one (deadlock); retry" });
  });

  it("answers a pool with no connection free in time as unavailable", async () => {
    const small = new pg.Pool({ connectionString: db.url, max: 1, connectionTimeoutMillis: 50 });
    const held = await small.connect();
    try {
      const err = await failureOf(small.query("SELECT 1"));
      expect(answered(err)).toEqual({ code: Code.Unavailable, message: "database busy: no connection came free in time; retry" });
    } finally {
      held.release();
      await endPool(small);
    }
  });

  it("answers a refused connection, a cut one and the session after it as unavailable", async () => {
    const nowhere = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/postgres` });
    const refused = await failureOf(nowhere.query("SELECT 1")).finally(() => nowhere.end());
    const { cut, after } = await session(async (c) => {
      c.on("error", () => undefined);
      const pid = (await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      const running = failureOf(c.query("SELECT pg_sleep(5)"));
      await pool.query("SELECT pg_terminate_backend($1)", [pid]);
      return { cut: await running, after: await failureOf(c.query("SELECT 1")) };
    });

    for (const err of [refused, cut, after]) expect(answered(err)).toEqual({ code: Code.Unavailable, message: "database unavailable; retry" });
    expect(mapError(refused)?.database).toEqual({ code: "ECONNREFUSED" });
    expect(mapError(cut)?.database).toEqual({ code: "57P01" });
  });

  it("answers a failed COMMIT by its cause, and leaves other SQL errors to the kit", async () => {
    const cut = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    const syntax = await failureOf(pool.query("SELEC 1"));

    expect(answered(new CommitError(cut))).toEqual({ code: Code.Unavailable, message: "database unavailable; retry" });
    expect(mapError(new CommitError(new Error("something else")))).toBeUndefined();
    expect(mapError(syntax)).toBeUndefined();
    expect(mapError(new ConnectError("x", Code.NotFound))?.error.code).toBe(Code.NotFound);
  });
});
