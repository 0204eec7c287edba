import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { invalidArgument } from "../errors.js";

/** Bytes of HMAC-SHA256 kept in a token: 128 bits, plenty against forgery, short in a URL. */
const MAC_BYTES = 16;

/**
 * Signs and checks page tokens. A token is `<payload>.<mac>`, both base64url: the payload is
 * `{"after": <key of the last item>}`, the keyset cursor (a job id, an event seq, a worker id),
 * so a token stays valid however many items are added meanwhile. The MAC is HMAC-SHA256 over
 * the list's scope and the payload: the scope names the list and canonically encodes the
 * request's filters and order, so a token edited by hand, or replayed with other filters,
 * is refused instead of silently paging something else. Every replica must share the secret.
 */
export class PageTokens {
  private readonly key: Buffer;

  /** @param secret shared by every replica; empty means a random one for this process. */
  constructor(secret: string) {
    this.key = secret === "" ? randomBytes(32) : Buffer.from(secret, "utf8");
  }

  /** A token resuming `scope` after `after`. */
  encode(scope: string, after: unknown): string {
    const payload = Buffer.from(JSON.stringify({ after }), "utf8").toString("base64url");
    return `${payload}.${this.mac(scope, payload).toString("base64url")}`;
  }

  /**
   * The cursor of `token`, or undefined for an empty token (the first page).
   * @param accept tells whether the decoded key is a valid cursor for this list.
   * @throws {ConnectError} InvalidArgument when the token is malformed, was not issued for this
   *   scope by a replica sharing the secret, or holds a key `accept` refuses.
   */
  decode<T>(token: string, scope: string, accept: (after: unknown) => after is T): T | undefined {
    if (token === "") return undefined;
    const refuse = () => invalidArgument("page_token: not a token this list issued for these filters");
    const match = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(token);
    if (match === null) throw refuse();
    const [, payload = "", mac = ""] = match;
    const given = Buffer.from(mac, "base64url");
    if (given.length !== MAC_BYTES || !timingSafeEqual(given, this.mac(scope, payload))) throw refuse();
    let after: unknown;
    try {
      after = (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { after?: unknown }).after;
    } catch {
      throw refuse();
    }
    if (!accept(after)) throw refuse();
    return after;
  }

  /**
   * A page out of `rows`, read with one row more than `size`: the extra row only tells whether
   * another page follows, and the token then points at the last row kept.
   */
  pageOf<T>(rows: T[], size: number, scope: string, key: (last: T) => unknown): { items: T[]; next: string } {
    if (rows.length <= size) return { items: rows, next: "" };
    const items = rows.slice(0, size);
    return { items, next: this.encode(scope, key(items[items.length - 1] as T)) };
  }

  private mac(scope: string, payload: string): Buffer {
    return createHmac("sha256", this.key).update(scope).update("\n").update(payload).digest().subarray(0, MAC_BYTES);
  }
}
