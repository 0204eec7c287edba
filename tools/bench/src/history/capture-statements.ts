import pg from "pg";

/** A statement a pg client of this process sent: its prepared-statement name, text and values. */
export interface CapturedStatement {
  name: string | undefined;
  text: string;
  values: unknown[];
}

type QueryMethod = (this: pg.Client, config: unknown, values?: unknown, callback?: unknown) => unknown;

/**
 * Runs `fn` and returns it with every statement that any pg client of this process sent
 * meanwhile. The history service runs in this process on the same `pg` module, so this
 * records exactly the SQL and parameters its handlers send for a request, without the bench
 * knowing how the service builds them. It observes only: each call goes on to pg unchanged,
 * and the original method is back when `fn` settles. Nothing else may query while it runs.
 */
export async function captureStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: CapturedStatement[] }> {
  const proto = pg.Client.prototype as unknown as { query: QueryMethod };
  const original = proto.query;
  const statements: CapturedStatement[] = [];
  proto.query = function (this: pg.Client, config: unknown, values?: unknown, callback?: unknown) {
    const statement = describe(config, values);
    if (statement !== undefined) statements.push(statement);
    return original.call(this, config, values, callback);
  };
  try {
    return { result: await fn(), statements };
  } finally {
    proto.query = original;
  }
}

/** The statement in pg's query arguments: a config object, or text with a values array. */
function describe(config: unknown, values: unknown): CapturedStatement | undefined {
  if (typeof config === "string") return { name: undefined, text: config, values: Array.isArray(values) ? values : [] };
  if (typeof config !== "object" || config === null) return undefined;
  const c = config as { name?: unknown; text?: unknown; values?: unknown };
  if (typeof c.text !== "string") return undefined;
  const given = Array.isArray(c.values) ? (c.values as unknown[]) : Array.isArray(values) ? (values as unknown[]) : [];
  return { name: typeof c.name === "string" ? c.name : undefined, text: c.text, values: given };
}
