import type { DescEnum } from "@bufbuild/protobuf";
import { type Duration, type Timestamp, durationMs, timestampDate } from "@bufbuild/protobuf/wkt";
import { enumText } from "@taskflow/proto";

/** `completed` for JobStatus.COMPLETED: an enum value as the services' JSON and the CLI spell it, lower case. */
export const label = (schema: DescEnum, value: number): string => enumText(schema, value) ?? "—";

/** A time as the operator's locale writes it, to the second; "—" when unset. */
export function formatTime(t: Timestamp | undefined): string {
  if (t === undefined) return "—";
  return TIME_FORMAT.format(timestampDate(t));
}

// One formatter each: toLocaleString makes a new one per call, which a table of 50 rows feels.
const TIME_FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const COUNT_FORMAT = new Intl.NumberFormat();

/** An ISO 8601 time for `<time dateTime>`; empty when unset. */
export const isoTime = (t: Timestamp | undefined): string => (t === undefined ? "" : timestampDate(t).toISOString());

/** `850 ms`, `12.4 s`, `3 min 5 s`, `2 h 10 min`, `3 d 4 h`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3_600)} h ${Math.floor((s % 3_600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3_600)} h`;
}

/** A Duration as {@link formatMs} writes it; "—" when unset. */
export const formatDuration = (d: Duration | undefined): string => (d === undefined ? "—" : formatMs(durationMs(d)));

/** `12,345` in the operator's locale. */
export const formatCount = (n: bigint | number): string => COUNT_FORMAT.format(n);

/** `3.2 %` of a 0..1 ratio. */
export const formatPercent = (ratio: number): string => `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.1 ? 2 : 1)} %`;

/** A JSON value as indented text. */
export const prettyJson = (value: unknown): string => JSON.stringify(value, null, 2) ?? "null";

/** A time as `<input type="datetime-local" step="1">` shows it (local, to the second); empty when `iso` is no time. */
export function toLocalInput(iso: string): string {
  const d = new Date(iso);
  if (iso === "" || Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The first `max` characters of `text` on one line, with an ellipsis when cut. */
export function excerpt(text: string, max = 120): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** `1 h`, `1 h 30 min`, `45 s`, `1 d 2 h`, `1 s 500 ms`: an exact span, zero parts left out (a schedule's interval). */
export function formatSpan(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["min", 60_000], ["s", 1_000], ["ms", 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n} ${unit}`);
    rest -= n * size;
  }
  return parts.length === 0 ? "0 ms" : parts.join(" ");
}
