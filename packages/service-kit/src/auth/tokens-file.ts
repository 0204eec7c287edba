import { createHash } from "node:crypto";
import { isRole, ROLES, type Identity, type Role } from "./identity.js";

/** A name: letters, digits and "._:@/-", 1 to 128 characters, safe in logs and actors. */
export const NAME_PATTERN = /^[A-Za-z0-9._:@/-]{1,128}$/;
/** Shortest token accepted: 16 characters, so a token cannot be guessed. */
export const MIN_TOKEN_LENGTH = 16;

/** The tokens of a tokens file, by the SHA-256 of each token. */
export type TokenTable = ReadonlyMap<string, Identity>;

export const tokenDigest = (token: string): string => createHash("sha256").update(token).digest("hex");

/**
 * Parses a tokens file: one `<token> <roles> [<name>]` per line, roles comma-separated from
 * {@link ROLES}, `#` to the end of a line a comment, blank lines ignored. A token without a name
 * is named `token-` and the first 12 hex digits of its SHA-256 (never the token itself).
 * @throws Error listing every bad line by number (the token never appears in it).
 */
export function parseTokensFile(text: string): TokenTable {
  const table = new Map<string, Identity>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    const at = `line ${i + 1}`;
    const [token = "", roles = "", name, ...rest] = line.split(/\s+/);
    if (rest.length > 0 || roles === "") return problems.push(`${at}: must be "<token> <roles> [<name>]"`);
    if (token.length < MIN_TOKEN_LENGTH) return problems.push(`${at}: the token must be at least ${MIN_TOKEN_LENGTH} characters`);
    const listed = roles.split(",");
    const bad = listed.filter((r) => !isRole(r));
    if (bad.length > 0) return problems.push(`${at}: unknown role ${bad.map((r) => JSON.stringify(r)).join(", ")} (roles: ${ROLES.join(", ")})`);
    if (name !== undefined && !NAME_PATTERN.test(name)) return problems.push(`${at}: the name must be 1 to 128 characters of letters, digits and "._:@/-"`);
    const digest = tokenDigest(token);
    if (table.has(digest)) return problems.push(`${at}: the same token is listed twice`);
    table.set(digest, { name: name ?? `token-${digest.slice(0, 12)}`, roles: new Set(listed as Role[]), via: "token" });
  });
  if (problems.length > 0) throw new Error(`bad tokens file: ${problems.join("; ")}`);
  return table;
}
