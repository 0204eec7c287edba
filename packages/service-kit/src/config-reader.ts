import { normaliseKeyName } from "./mask-secrets.js";

/**
 * Thrown by {@link ConfigReader.done} when one or more variables are invalid. The message lists
 * every problem, so an operator fixes a bad deployment in one round instead of one per restart.
 */
export class ConfigError extends Error {
  /** One line per invalid variable, e.g. `SCHEDULER_PORT: must be an integer, got "x"`. */
  readonly problems: readonly string[];

  constructor(message: string, problems: readonly string[] = []) {
    super(message);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** Bounds for {@link ConfigReader.int}, both inclusive. */
export interface IntRange {
  min?: number;
  max?: number;
}

/**
 * Reads typed settings from an environment map for a service's `loadConfig`. Each reader
 * returns the default when the variable is unset or blank (an empty `FOO=` in a manifest means
 * "not set"), records a problem and returns the default when the value is bad, and
 * {@link ConfigReader.done} throws one {@link ConfigError} naming every bad variable.
 */
export class ConfigReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Record<string, string | undefined>) {}

  /** The trimmed value of `name`, or `def`. */
  string(name: string, def: string): string {
    return this.raw(name) ?? def;
  }

  /**
   * A base-10 integer such as `50051` or `-1`, or `def`. Values outside `range` (inclusive) or
   * beyond the safe-integer range are problems.
   */
  int(name: string, def: number, range: IntRange = {}): number {
    const raw = this.raw(name);
    if (raw === undefined) return def;
    const value = /^[+-]?\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(value)) {
      return this.fail(name, `must be an integer, got ${JSON.stringify(raw)}`, def);
    }
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range;
    if (value < min || value > max) {
      return this.fail(name, `must be ${describeRange(range)}, got ${value}`, def);
    }
    return value;
  }

  /** A comma-separated list (`a, b,c`), trimmed, without empty items; or `def`. */
  list(name: string, def: string[]): string[] {
    const raw = this.raw(name);
    if (raw === undefined) return [...def];
    const items = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
    if (items.length === 0) return this.fail(name, "must list at least one item", [...def]);
    return items;
  }

  /**
   * A comma-separated list of key names to match as `isSecretKey` does (`SECRET_PAYLOAD_KEYS`):
   * as written, trimmed, without empty items or repeats; or `def` itself. A name with nothing left
   * once normalised (`-`) is a problem: it would match every key.
   */
  keyNames(name: string, def: readonly string[]): readonly string[] {
    const listed = this.list(name, []);
    if (listed.length === 0) return def;
    const empty = listed.filter((k) => normaliseKeyName(k) === "");
    if (empty.length > 0) {
      return this.fail(name, `names without letters or digits match every key: ${empty.map((k) => JSON.stringify(k)).join(", ")}`, def);
    }
    return Object.freeze([...new Set(listed)]);
  }

  /**
   * An absolute URL such as `http://127.0.0.1:50052` or `redis://host:6379`, returned as
   * written; or `def`. The bad value is not repeated in the problem: it may hold a password.
   */
  url(name: string, def: string): string {
    const raw = this.raw(name);
    if (raw === undefined) return def;
    if (!URL.canParse(raw)) return this.fail(name, "must be an absolute URL", def);
    return raw;
  }

  /**
   * A secret of at least `minLength` characters, or `def`. Like {@link ConfigReader.url}, the
   * problem does not repeat the value.
   */
  secret(name: string, def: string, minLength: number): string {
    const raw = this.raw(name);
    if (raw === undefined) return def;
    if (raw.length < minLength) return this.fail(name, `must be at least ${minLength} characters`, def);
    return raw;
  }

  /** One of `allowed` (exact match), or `def`. Used for `LOG_LEVEL` and similar switches. */
  oneOf<T extends string>(name: string, def: T, allowed: readonly T[]): T {
    const raw = this.raw(name);
    if (raw === undefined) return def;
    if (!(allowed as readonly string[]).includes(raw)) {
      return this.fail(name, `must be one of ${allowed.join(", ")}, got ${JSON.stringify(raw)}`, def);
    }
    return raw as T;
  }

  /**
   * Records a problem the caller found in `name` with a check of its own (e.g. a list item it
   * cannot parse); {@link ConfigReader.done} then reports it with the others.
   */
  invalid(name: string, problem: string): void {
    this.problems.push(`${name}: ${problem}`);
  }

  /**
   * Ends reading.
   * @throws {ConfigError} listing every problem found by the readers, if there was any.
   */
  done(): void {
    if (this.problems.length === 0) return;
    throw new ConfigError(`invalid configuration: ${this.problems.join("; ")}`, [...this.problems]);
  }

  private raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  }

  private fail<T>(name: string, problem: string, def: T): T {
    this.invalid(name, problem);
    return def;
  }
}

function describeRange({ min, max }: IntRange): string {
  if (min !== undefined && max !== undefined) return `an integer from ${min} to ${max}`;
  if (min !== undefined) return `an integer of at least ${min}`;
  return `an integer of at most ${max}`;
}
