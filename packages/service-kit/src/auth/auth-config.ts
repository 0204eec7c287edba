import type { Logger } from "pino";
import { ConfigError, type ConfigReader } from "../config-reader.js";
import { Authenticator } from "./authenticator.js";
import { parseJwks } from "./jwt.js";
import { parseTokensFile, type TokenTable } from "./tokens-file.js";
import { WatchedFile } from "./watched-file.js";

/** How a service authenticates its callers (the AUTH_* and TLS_CLIENT_CA_FILE settings). */
export interface AuthConfig {
  /** Bearer tokens file (AUTH_TOKENS_FILE), re-read when it changes. */
  tokensFile: string;
  /** JSON Web Key Set that signs accepted JWTs (AUTH_JWKS_FILE), re-read when it changes. */
  jwksFile: string;
  jwtIssuer: string;
  jwtAudience: string;
  /** Claim holding a JWT's roles (AUTH_JWT_ROLES_CLAIM, default `roles`). */
  jwtRolesClaim: string;
  /** CA of accepted client certificates (TLS_CLIENT_CA_FILE): mutual TLS. */
  clientCaFile: string;
  /** Serve without authentication beyond loopback (AUTH_DISABLED=true). */
  disabled: boolean;
}

/** Every variable {@link readAuthConfig} reads. */
export const AUTH_VARIABLES = [
  "AUTH_TOKENS_FILE", "AUTH_JWKS_FILE", "AUTH_JWT_ISSUER", "AUTH_JWT_AUDIENCE", "AUTH_JWT_ROLES_CLAIM", "TLS_CLIENT_CA_FILE", "AUTH_DISABLED",
] as const;

/** Reads the AUTH_* settings and TLS_CLIENT_CA_FILE; problems go to `r`. */
export function readAuthConfig(r: ConfigReader): AuthConfig {
  const c: AuthConfig = {
    tokensFile: r.string("AUTH_TOKENS_FILE", ""),
    jwksFile: r.string("AUTH_JWKS_FILE", ""),
    jwtIssuer: r.string("AUTH_JWT_ISSUER", ""),
    jwtAudience: r.string("AUTH_JWT_AUDIENCE", ""),
    jwtRolesClaim: r.string("AUTH_JWT_ROLES_CLAIM", "roles"),
    clientCaFile: r.string("TLS_CLIENT_CA_FILE", ""),
    disabled: r.oneOf("AUTH_DISABLED", "false", ["true", "false"]) === "true",
  };
  if (c.jwksFile !== "" && (c.jwtIssuer === "" || c.jwtAudience === "")) {
    r.invalid("AUTH_JWKS_FILE", "needs AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE, so a token made for another service is refused");
  }
  if (c.disabled && hasSource(c)) r.invalid("AUTH_DISABLED", "cannot be true while AUTH_TOKENS_FILE, AUTH_JWKS_FILE or TLS_CLIENT_CA_FILE is set");
  return c;
}

const hasSource = (c: AuthConfig): boolean => c.tokensFile !== "" || c.jwksFile !== "" || c.clientCaFile !== "";

/** Whether `host` is a loopback address or name, reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}

/**
 * Starts authentication as configured, for a service listening on `hosts`: the authenticator,
 * or undefined when authentication is off. Off is allowed while every listener is on loopback,
 * or when AUTH_DISABLED says so; what was chosen is logged.
 * @throws ConfigError when a listener is beyond loopback with no source of identity, or a file
 *   cannot be read or parsed.
 */
export function startAuth(c: AuthConfig, hosts: readonly string[], logger: Logger): Authenticator | undefined {
  const log = logger.child({ component: "auth" });
  if (!hasSource(c)) {
    const exposed = hosts.filter((h) => !isLoopback(h));
    if (c.disabled) {
      log.warn({ hosts }, "authentication is off (AUTH_DISABLED=true): anyone who reaches these ports can call every RPC");
      return undefined;
    }
    if (exposed.length > 0) {
      throw new ConfigError(
        `refusing to listen on ${exposed.join(", ")} without authentication: set AUTH_TOKENS_FILE, AUTH_JWKS_FILE or TLS_CLIENT_CA_FILE, or AUTH_DISABLED=true to serve anyone`,
      );
    }
    log.info({ hosts }, "authentication is off: every listener is on loopback");
    return undefined;
  }
  const sources = [];
  let tokens: WatchedFile<TokenTable> | undefined;
  try {
    tokens = c.tokensFile === "" ? undefined : new WatchedFile(c.tokensFile, parseTokensFile, log);
    const keys = c.jwksFile === "" ? undefined : new WatchedFile(c.jwksFile, parseJwks, log);
    if (tokens !== undefined) sources.push(`tokens from ${c.tokensFile}`);
    if (keys !== undefined) sources.push(`JWTs signed by ${c.jwksFile}`);
    if (c.clientCaFile !== "") sources.push(`client certificates of ${c.clientCaFile}`);
    log.info({ sources }, "authentication is on");
    return new Authenticator({
      tokens,
      jwt: keys === undefined ? undefined : { keys, rules: { issuer: c.jwtIssuer, audience: c.jwtAudience, rolesClaim: c.jwtRolesClaim } },
      certificates: c.clientCaFile !== "",
    });
  } catch (err) {
    // A JWKS that does not load leaves no tokens file watched behind it.
    tokens?.close();
    throw new ConfigError((err as Error).message);
  }
}
