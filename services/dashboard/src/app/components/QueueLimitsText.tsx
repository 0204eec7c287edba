import type { JsonObject } from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import type { QueueLimits } from "@taskflow/proto";
import type { ReactNode } from "react";
import { formatCount } from "../format.js";

/** Limits as plain numbers, `perMs` the window of `maxStarts` (0 without it). */
export interface PlainLimits {
  maxRunning: number;
  maxStarts: number;
  perMs: number;
}

/** A QueueLimits message as plain numbers; all zero when unset. */
export const plainLimits = (l: QueueLimits | undefined): PlainLimits => ({
  maxRunning: l?.maxRunning ?? 0,
  maxStarts: l?.maxStarts ?? 0,
  perMs: l?.per === undefined ? 0 : durationMs(l.per),
});

/** A limit window in the largest whole unit: `1 s`, `250 ms`, `5 min`, `1 h`. */
export function formatWindow(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms > 0 && ms % 1_000 === 0) return `${ms / 1_000} s`;
  return `${ms} ms`;
}

/** `at most 5 running, at most 10 starts per 2 s`; `no limits` when all zero. */
export function describeLimits(l: PlainLimits): string {
  const parts: string[] = [];
  if (l.maxRunning > 0) parts.push(`at most ${formatCount(l.maxRunning)} running`);
  if (l.maxStarts > 0) parts.push(`at most ${formatCount(l.maxStarts)} starts per ${formatWindow(l.perMs)}`);
  return parts.length === 0 ? "no limits" : parts.join(", ");
}

/**
 * The parameters of an operator action in words: for `queue.limits` (details `maxRunning`,
 * `maxStarts`, `perMs`, and `type` when they were a job type's) the limits set; otherwise its
 * fields as `key: value`, or nothing.
 */
export function describeActionDetails(action: string, details: JsonObject | undefined): string {
  if (details === undefined) return "";
  if (action === "queue.limits") {
    const n = (k: string) => (typeof details[k] === "number" ? details[k] : 0);
    const limits = describeLimits({ maxRunning: n("maxRunning"), maxStarts: n("maxStarts"), perMs: n("perMs") });
    return typeof details["type"] === "string" ? `type ${details["type"]}: ${limits}` : limits;
  }
  return Object.entries(details)
    .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(", ");
}

/** A queue's (or a job type's) limits in words. */
export function LimitsText({ limits }: { limits: QueueLimits | undefined }): ReactNode {
  const text = describeLimits(plainLimits(limits));
  return text === "no limits" ? <span className="hint">none</span> : <>{text}</>;
}
