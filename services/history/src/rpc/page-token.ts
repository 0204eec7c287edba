import { invalidArgument } from "../errors.js";

/**
 * Page tokens are opaque to callers: base64url of `{"after": <key of the last item>}`. The key
 * is the keyset cursor (a job id, an event seq, a worker id), so a token stays valid however
 * many items are added meanwhile.
 */
export function encodePageToken(after: string | number): string {
  return Buffer.from(JSON.stringify({ after }), "utf8").toString("base64url");
}

/**
 * The cursor of `token`, or undefined for an empty token (the first page).
 * @param accept tells whether the decoded key is a valid cursor for this list.
 * @throws {ConnectError} InvalidArgument when the token does not decode or its key is invalid.
 */
export function decodePageToken<T extends string | number>(
  token: string,
  accept: (after: unknown) => after is T,
): T | undefined {
  if (token === "") return undefined;
  let after: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error("not base64url");
    after = (JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { after?: unknown }).after;
  } catch {
    throw invalidArgument("page_token: not a token this list issued");
  }
  if (!accept(after)) throw invalidArgument("page_token: not a token this list issued");
  return after;
}

/** Page size plus one is read; the extra row only tells whether another page follows. */
export function pageOf<T>(rows: T[], size: number, key: (last: T) => string | number): { items: T[]; next: string } {
  if (rows.length <= size) return { items: rows, next: "" };
  const items = rows.slice(0, size);
  return { items, next: encodePageToken(key(items[items.length - 1] as T)) };
}
