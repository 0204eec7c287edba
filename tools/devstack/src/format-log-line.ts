const LEVELS: Record<number, string> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};

/** Fields every pino line has (the prefix names the service); the terminal shows the rest. */
const COMMON_FIELDS = new Set(["level", "time", "msg", "pid", "hostname", "name"]);

/** Width of the name column, so the lines of the three services line up. */
const NAME_WIDTH = 9;

/**
 * One line of a child's output for a terminal: a pino JSON line becomes
 * `history   | info listening url=http://127.0.0.1:50052`; any other line is shown as it is.
 */
export function formatLogLine(name: string, line: string): string {
  const prefix = `${name.padEnd(NAME_WIDTH)} |`;
  const record = parseRecord(line);
  if (!record) return `${prefix} ${line}`;
  // Services log the level as a label; pino's default is a number.
  const level = typeof record.level === "number" ? LEVELS[record.level] : record.level;
  const fields = Object.entries(record)
    .filter(([key]) => !COMMON_FIELDS.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  return [prefix, level, record.msg, ...fields].join(" ");
}

function parseRecord(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== "object" || value === null) return undefined;
    return value as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The `url` of a pino `"msg":"listening"` line, which every service logs once it serves. */
export function listeningUrl(line: string): string | undefined {
  const record = parseRecord(line);
  return record?.msg === "listening" && typeof record.url === "string" ? record.url : undefined;
}

/** The `internal_url` of a `"msg":"listening"` line: history's internal listener, which the scheduler calls. */
export function listeningInternalUrl(line: string): string | undefined {
  const record = parseRecord(line);
  return record?.msg === "listening" && typeof record.internal_url === "string" ? record.internal_url : undefined;
}
