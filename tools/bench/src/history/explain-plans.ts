import pg from "pg";
import { type CapturedStatement, captureStatements } from "./capture-statements.js";
import type { Probe } from "./shape.js";

/** The plan PostgreSQL used for one statement of a shape. */
export interface ExplainedStatement {
  statement: CapturedStatement;
  /** How the plan was obtained. */
  method: string;
  plan: string;
}

const isQuery = (text: string): boolean => /^\s*(SELECT|WITH|TABLE|VALUES)\b/i.test(text);
const isSetting = (text: string): boolean => /^\s*SET\b/i.test(text);

/**
 * A prepared statement's sixth execution is the first that may switch to a generic plan
 * (PostgreSQL's plan cache tries five custom plans first), so the sixth shows the plan the
 * service's named statements keep using.
 */
const EXECUTIONS = 6;

/**
 * Sends the shape's first request once more, captures the statements the service ran for it,
 * and explains each query among them on a connection of its own to `url`.
 */
export async function explainShape(url: string, probe: Probe): Promise<ExplainedStatement[]> {
  const { statements } = await captureStatements(() => probe.call(0));
  const settings = statements.filter((s) => isSetting(s.text));
  const explained: ExplainedStatement[] = [];
  for (const statement of statements.filter((s) => isQuery(s.text))) explained.push(await explainStatement(url, statement, settings));
  return explained;
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of one captured statement, inside a transaction that is rolled
 * back, after the captured SET statements. With auto_explain (loaded into this session only)
 * the statement runs as the service runs it, under its name with its parameters, and the plan
 * of its sixth execution is reported, costs removed; where auto_explain cannot be loaded, a
 * plain EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) with the same parameters shows the custom plan.
 */
async function explainStatement(url: string, statement: CapturedStatement, settings: CapturedStatement[]): Promise<ExplainedStatement> {
  const client = new pg.Client({ connectionString: url, application_name: "taskflow-bench-history-explain" });
  await client.connect();
  try {
    const autoExplain = await client.query("LOAD 'auto_explain'").then(
      () => true,
      () => false,
    );
    await client.query("BEGIN");
    for (const s of settings) await client.query({ text: s.text, values: s.values });
    const result = autoExplain ? await planOfSixth(client, statement) : await plainExplain(client, statement);
    await client.query("ROLLBACK");
    return { statement, ...result };
  } finally {
    await client.end();
  }
}

async function planOfSixth(client: pg.Client, s: CapturedStatement): Promise<{ method: string; plan: string }> {
  for (const setting of ["log_analyze", "log_buffers", "log_timing"]) await client.query(`SET LOCAL auto_explain.${setting} = on`);
  await client.query("SET LOCAL auto_explain.log_level = notice");
  await client.query("SET LOCAL auto_explain.log_min_duration = -1");
  const query = { ...(s.name === undefined ? {} : { name: s.name }), text: s.text, values: s.values };
  for (let i = 1; i < EXECUTIONS; i++) await client.query(query);
  const notices: string[] = [];
  const listener = (n: { message?: string }) => notices.push(n.message ?? "");
  client.on("notice", listener);
  try {
    await client.query("SET LOCAL auto_explain.log_min_duration = 0");
    await client.query(query);
    await client.query("SET LOCAL auto_explain.log_min_duration = -1");
  } finally {
    client.off("notice", listener);
  }
  // Functions the planner folds into constants run statements of their own, which auto_explain
  // reports first: the statement's own plan is the one showing its text.
  const plans = notices.filter((m) => m.includes("plan:"));
  const plan = plans.find((m) => m.includes(s.text.trim())) ?? plans.at(-1) ?? "(auto_explain reported no plan)";
  const how = s.name === undefined ? "unnamed statement: a custom plan" : `execution ${EXECUTIONS} of prepared statement ${s.name}`;
  return { method: `auto_explain, ${how}, costs removed`, plan: plan.replace(/\s+\(cost=[^)]*\)/g, "") };
}

async function plainExplain(client: pg.Client, s: CapturedStatement): Promise<{ method: string; plan: string }> {
  const { rows } = await client.query<{ "QUERY PLAN": string }>({ text: `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${s.text}`, values: s.values });
  return { method: "EXPLAIN with the captured parameters: a custom plan (auto_explain could not be loaded)", plan: rows.map((r) => r["QUERY PLAN"]).join("\n") };
}
