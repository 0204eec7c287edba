import { Code, ConnectError, createContextKey } from "@connectrpc/connect";
import type { JWTVerifyGetKey } from "jose";
import { isRole, type Identity, type Role } from "./identity.js";
import { looksLikeJwt, verifyJwt, type JwtRules } from "./jwt.js";
import { NAME_PATTERN, tokenDigest, type TokenTable } from "./tokens-file.js";
import type { WatchedFile } from "./watched-file.js";

/** The client certificate of a call over TLS, as the server's TLS layer verified it. */
export interface PeerCertificate {
  /** Whether the certificate chains to the configured client CA. */
  authorized: boolean;
  /** Subject common name. */
  cn: string;
  /** Subject organization values: the roles the certificate grants. */
  o: readonly string[];
}

/** Where the server leaves the peer's certificate of a TLS call (undefined without one). */
export const peerCertificateKey = createContextKey<PeerCertificate | undefined>(undefined, { description: "TLS client certificate" });

/** The sources of identity a server accepts; at least one. */
export interface AuthSources {
  tokens?: WatchedFile<TokenTable>;
  jwt?: { keys: WatchedFile<JWTVerifyGetKey>; rules: JwtRules };
  /** Accept client certificates verified against the server's client CA (mutual TLS). */
  certificates?: boolean;
}

const unauthenticated = (why: string): ConnectError => new ConnectError(why, Code.Unauthenticated);

/**
 * Finds who is calling: a bearer token of the tokens file, a JWT signed by a key of the JWKS
 * file, or (with no Authorization header) a verified client certificate, named by its CN with
 * its O values as roles. A credential that is present but wrong is refused, never ignored.
 */
export class Authenticator {
  constructor(private readonly sources: AuthSources) {}

  /** @throws unauthenticated when no credential is given or the one given is not valid. */
  async authenticate(authorization: string | null, peer: PeerCertificate | undefined): Promise<Identity> {
    if (authorization === null) {
      if (this.sources.certificates === true && peer !== undefined) return fromCertificate(peer);
      throw unauthenticated("credentials required: send \"Authorization: Bearer <token>\"");
    }
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (match === null) throw unauthenticated("the Authorization header must be \"Bearer <token>\"");
    const token = match[1]!;
    const known = this.sources.tokens?.value.get(tokenDigest(token));
    if (known !== undefined) return known;
    const jwt = this.sources.jwt;
    if (jwt !== undefined && looksLikeJwt(token)) {
      const verdict = await verifyJwt(token, jwt.keys.value, jwt.rules);
      if (typeof verdict === "string") throw unauthenticated(verdict);
      return verdict;
    }
    throw unauthenticated("the bearer token is not valid");
  }

  close(): void {
    this.sources.tokens?.close();
    this.sources.jwt?.keys.close();
  }
}

function fromCertificate(peer: PeerCertificate): Identity {
  if (!peer.authorized) throw unauthenticated("the client certificate is not signed by a trusted CA");
  if (!NAME_PATTERN.test(peer.cn)) throw unauthenticated("the client certificate's CN must be 1 to 128 characters of letters, digits and \"._:@/-\"");
  return { name: peer.cn, roles: new Set<Role>(peer.o.filter(isRole)), via: "certificate" };
}
