import { type DescEnum, type DescMessage, type JsonValue, type MessageShape, toJson } from "@bufbuild/protobuf";
import { type Duration, durationMs, type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { enumText } from "@taskflow/proto";
import { formatDuration } from "./durations.js";

/**
 * Lays rows out as a table: a header line, then one line per row, columns padded to their
 * widest cell and two spaces apart. No rows prints `empty` in place of the table.
 */
export function table(headers: string[], rows: string[][], empty = "(none)"): string {
  if (rows.length === 0) return `${empty}\n`;
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

/** Label/value lines with the values aligned; undefined values are left out. */
export function fields(pairs: [string, string | undefined][]): string {
  const shown = pairs.filter((p): p is [string, string] => p[1] !== undefined && p[1] !== "");
  const width = Math.max(0, ...shown.map(([label]) => label.length)) + 1;
  return shown.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}`).join("\n") + "\n";
}

/** A timestamp as ISO 8601 UTC, or undefined when unset. */
export const time = (t: Timestamp | undefined): string | undefined => (t === undefined ? undefined : timestampDate(t).toISOString());

/** A duration as `4.2s`, `3m 20s`..., or undefined when unset. */
export const duration = (d: Duration | undefined): string | undefined => (d === undefined ? undefined : formatDuration(durationMs(d)));

/** An enum value as its short upper-case name (`COMPLETED` for JOB_STATUS_COMPLETED). */
export const enumName = (schema: DescEnum, value: number): string => (enumText(schema, value) ?? "unspecified").toUpperCase();

/** A JSON value on one line; undefined stays undefined. */
export const inlineJson = (value: JsonValue | undefined): string | undefined => (value === undefined ? undefined : JSON.stringify(value));

/** A document printed by `--json`: indented, with a final newline. */
export const jsonDocument = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** `text` cut to `max` characters with an ellipsis. */
export const truncate = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/**
 * A message in the protobuf JSON mapping (what `--json` prints): lowerCamelCase field names,
 * enums by their full name, 64-bit numbers as strings, and zero values written out, not dropped.
 */
export const messageJson = <Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): JsonValue =>
  toJson(schema, message, { alwaysEmitImplicit: true });
