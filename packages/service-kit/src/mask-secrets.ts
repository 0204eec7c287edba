/**
 * Key names whose values are secrets unless `SECRET_PAYLOAD_KEYS` says otherwise: a key matches
 * when its name, normalised (see {@link normaliseKeyName}), contains one of them.
 */
export const DEFAULT_SECRET_PAYLOAD_KEYS: readonly string[] = Object.freeze([
  "authorization",
  "password",
  "passwd",
  "secret",
  "token",
  "api_key",
  "apikey",
  "private_key",
  "cookie",
  "credential",
]);

/** What {@link maskSecrets} puts in place of a secret in a log line. */
export const REDACTED = "[redacted]";

/**
 * Levels {@link maskSecrets} descends before it gives up and masks the whole rest. Payloads are
 * refused beyond 32 levels, so only a cyclic log object gets this deep; masking it fails closed.
 */
const MAX_DEPTH = 64;

/** `X-Api-Key` → `xapikey`: lower case, without `-`, `_` and white space. */
export const normaliseKeyName = (name: string): string => name.toLowerCase().replace(/[\s_-]/g, "");

/** Normalised, de-duplicated `keys`, computed once per list (lists come from frozen configs). */
const normalised = new WeakMap<readonly string[], readonly string[]>();

function needlesOf(keys: readonly string[]): readonly string[] {
  let needles = normalised.get(keys);
  if (needles === undefined) {
    needles = [...new Set(keys.map(normaliseKeyName).filter((k) => k !== ""))];
    normalised.set(keys, needles);
  }
  return needles;
}

const matches = (needles: readonly string[], name: string): boolean => {
  const n = normaliseKeyName(name);
  return needles.some((k) => n.includes(k));
};

/** Whether the key `name` holds a secret: its normalised name contains one of `keys`, normalised. */
export function isSecretKey(name: string, keys: readonly string[] = DEFAULT_SECRET_PAYLOAD_KEYS): boolean {
  return matches(needlesOf(keys), name);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * `value` with the value of every secret-named key (see {@link isSecretKey}), at any depth and in
 * objects inside arrays, replaced whole by `replacement`: `"[redacted]"` for logs, `null` where the
 * secret must contribute nothing (a JSON null holds no words for full-text search). Only plain
 * objects and arrays are walked; anything else (an Error, a Date) is kept as it is. Pure: `value`
 * is never changed, and comes back itself, not a copy, when it holds no secret-named key.
 */
export function maskSecrets<T>(value: T, keys: readonly string[] = DEFAULT_SECRET_PAYLOAD_KEYS, replacement: unknown = REDACTED): T {
  const needles = needlesOf(keys);
  return needles.length === 0 ? value : (walk(value, { needles, replacement }, 0) as T);
}

interface Masking {
  needles: readonly string[];
  replacement: unknown;
}

function walk(v: unknown, m: Masking, depth: number): unknown {
  if (typeof v !== "object" || v === null) return v;
  if (depth > MAX_DEPTH) return m.replacement;
  if (Array.isArray(v)) return walkArray(v as readonly unknown[], m, depth);
  if (!isPlainObject(v)) return v;
  let copy: Record<string, unknown> | undefined;
  for (const [name, item] of Object.entries(v)) {
    const masked = matches(m.needles, name) ? m.replacement : walk(item, m, depth + 1);
    if (masked !== item) (copy ??= { ...v })[name] = masked;
  }
  return copy ?? v;
}

function walkArray(v: readonly unknown[], m: Masking, depth: number): readonly unknown[] {
  let copy: unknown[] | undefined;
  v.forEach((item, i) => {
    const masked = walk(item, m, depth + 1);
    if (masked !== item) (copy ??= [...v])[i] = masked;
  });
  return copy ?? v;
}
