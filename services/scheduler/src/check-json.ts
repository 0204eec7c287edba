import type { JsonValue } from "@bufbuild/protobuf";

/**
 * Deepest nesting of objects and arrays a payload may have. Each JSON level is two protobuf
 * messages (Struct or ListValue, then Value), and a payload reaches a worker inside three more
 * (LeaseJobsResponse, LeasedJob, Job). Protobuf decoders refuse messages nested past 100 levels,
 * so a payload much deeper than 45 levels could be accepted yet never leased nor read back.
 */
export const MAX_JSON_DEPTH = 32;

/** A UTF-16 surrogate without its pair (with the `u` flag a proper pair is one code point). */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Why PostgreSQL could not store `text`, or undefined when it can: `text` and `jsonb` refuse
 * U+0000, and `jsonb` refuses a lone surrogate, which a JSON request can carry as `"\ud800"`.
 */
export function textProblem(text: string): string | undefined {
  if (text.includes("\u0000")) return "must not contain U+0000 (NUL)";
  if (LONE_SURROGATE.test(text)) return "must be valid Unicode (lone surrogate)";
  return undefined;
}

/** Whether `value` nests objects and arrays more than `max` levels deep (`{}` and `[1]` are one level). */
export function nestsDeeperThan(value: JsonValue, max: number): boolean {
  if (value === null || typeof value !== "object") return false;
  if (max <= 0) return true;
  const children = Array.isArray(value) ? value : Object.values(value);
  return children.some((child) => nestsDeeperThan(child, max - 1));
}

/** Where in a JSON value a string PostgreSQL could not store sits, and what is wrong with it. */
export interface TextProblem {
  /** Path of the string, e.g. `payload.a[2]`, or of the object whose key it is, e.g. `payload.a key`. */
  field: string;
  problem: string;
}

/** The first string or key in `value` PostgreSQL could not store; `path` names `value` itself. */
export function findTextProblem(value: JsonValue, path: string): TextProblem | undefined {
  if (typeof value === "string") return at(path, textProblem(value));
  if (value === null || typeof value !== "object") return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findTextProblem(value[i] as JsonValue, `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    const found = at(`${path} key`, textProblem(key)) ?? findTextProblem(child, `${path}.${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

const at = (field: string, problem: string | undefined): TextProblem | undefined =>
  problem === undefined ? undefined : { field, problem };
