import { ScalarType, type DescField, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { invalidArgument } from "../errors.js";

/** A UTF-16 surrogate without its pair (with the `u` flag a proper pair is one code point). */
const LONE_SURROGATE = /\p{Surrogate}/u;

type Fields = Record<string, unknown>;

/**
 * An interceptor that refuses, as InvalidArgument naming the field, a request holding a string
 * PostgreSQL cannot store: U+0000, which `text` and `jsonb` both refuse, or a lone UTF-16
 * surrogate, which `jsonb` refuses and `text` silently turns into U+FFFD. Binary requests
 * cannot carry a lone surrogate (their strings must be UTF-8), JSON requests can (`"\ud800"`).
 * A streaming RPC's request reaches interceptors as a stream, which this guard does not read:
 * such handlers (ExportAuditTrail) call {@link messageProblem} themselves.
 */
export function createTextGuard(): Interceptor {
  return (next) => (req) => {
    if (!req.stream) {
      const problem = messageProblem(req.method.input, req.message, "");
      if (problem !== undefined) throw invalidArgument(problem);
    }
    return next(req);
  };
}

/** The first unstorable string of a message, as `path: problem`, or undefined. */
export function messageProblem(desc: DescMessage, msg: Fields, path: string): string | undefined {
  if (desc.typeName === "google.protobuf.Value") return valueMessageProblem(msg, path);
  for (const field of desc.fields) {
    const value = fieldValue(field, msg);
    if (value === undefined) continue;
    const problem = fieldProblem(field, value, path === "" ? field.name : `${path}.${field.name}`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function fieldValue(field: DescField, msg: Fields): unknown {
  if (field.oneof === undefined) return msg[field.localName];
  const chosen = msg[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
  return chosen?.case === field.localName ? chosen.value : undefined;
}

function fieldProblem(field: DescField, value: unknown, path: string): string | undefined {
  switch (field.fieldKind) {
    case "scalar":
      return field.scalar === ScalarType.STRING ? textProblem(value as string, path) : undefined;
    case "list":
      return firstOf(value as unknown[], (item, i) => itemProblem(field, item, `${path}[${i}]`));
    case "map":
      return firstOf(Object.entries(value as Fields), ([k, v]) => {
        const at = `${path}[${JSON.stringify(k.slice(0, 64))}]`;
        return textProblem(k, `${path} key`) ?? itemProblem(field, v, at);
      });
    case "message":
      if (field.message.typeName === "google.protobuf.Struct") return jsonProblem(value as JsonValue, path);
      return messageProblem(field.message, value as Fields, path);
    default:
      return undefined;
  }
}

/** A list item or map value: a string, a message, or something that holds no text. */
function itemProblem(field: DescField & { fieldKind: "list" | "map" }, item: unknown, path: string): string | undefined {
  if (typeof item === "string") return textProblem(item, path);
  if (field.message !== undefined && typeof item === "object" && item !== null) {
    return messageProblem(field.message, item as Fields, path);
  }
  return undefined;
}

/** google.protobuf.Value as a message (where Struct is not unboxed), walked as the JSON it is. */
function valueMessageProblem(msg: Fields, path: string): string | undefined {
  const kind = msg.kind as { case?: string; value?: unknown } | undefined;
  switch (kind?.case) {
    case "stringValue":
      return textProblem(kind.value as string, path);
    case "structValue": {
      const fields = (kind.value as { fields: Record<string, Fields> }).fields;
      return firstOf(Object.entries(fields), ([k, v]) => textProblem(k, `${path} key`) ?? valueMessageProblem(v, `${path}.${k}`));
    }
    case "listValue":
      return firstOf((kind.value as { values: Fields[] }).values, (v, i) => valueMessageProblem(v, `${path}[${i}]`));
    default:
      return undefined;
  }
}

/** A Struct field, which protobuf-es hands over as plain JSON. */
function jsonProblem(value: JsonValue, path: string): string | undefined {
  if (typeof value === "string") return textProblem(value, path);
  if (Array.isArray(value)) return firstOf(value, (v, i) => jsonProblem(v, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return undefined;
  return firstOf(Object.entries(value), ([k, v]) => textProblem(k, `${path} key`) ?? jsonProblem(v, `${path}.${k}`));
}

/** Whether PostgreSQL can store `text` as it is (see {@link createTextGuard}). */
export const isStorableText = (text: string): boolean => !text.includes("\u0000") && !LONE_SURROGATE.test(text);

function textProblem(text: string, path: string): string | undefined {
  if (text.includes("\u0000")) return `${path}: must not contain U+0000 (NUL)`;
  if (LONE_SURROGATE.test(text)) return `${path}: must be valid Unicode (lone surrogate)`;
  return undefined;
}

function firstOf<T>(items: readonly T[], problem: (item: T, i: number) => string | undefined): string | undefined {
  for (let i = 0; i < items.length; i++) {
    const p = problem(items[i] as T, i);
    if (p !== undefined) return p;
  }
  return undefined;
}
