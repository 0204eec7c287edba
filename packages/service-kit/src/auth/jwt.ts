import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { isRole, type Identity, type Role } from "./identity.js";
import { NAME_PATTERN } from "./tokens-file.js";

/** What a JWT must satisfy, besides a signature by a key of the JWKS. */
export interface JwtRules {
  issuer: string;
  audience: string;
  /** The claim holding the roles: an array of strings, or one string of roles separated by spaces or commas. */
  rolesClaim: string;
}

/** Whether `token` is shaped as a JWT (three base64url parts). */
export const looksLikeJwt = (token: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);

/**
 * A JWKS file's keys, ready to verify with.
 * @throws Error when the text is not a JSON Web Key Set.
 */
export function parseJwks(text: string): JWTVerifyGetKey {
  const jwks = JSON.parse(text) as JSONWebKeySet;
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error("a JWKS must hold a non-empty \"keys\" array");
  return createLocalJWKSet(jwks);
}

/**
 * Verifies a JWT (signature, `exp`/`nbf`, issuer, audience) and gives its identity: named by
 * `sub`, with the roles of the roles claim that TaskFlow knows (others are ignored).
 * @returns the identity, or why the token is refused (no detail of the token itself).
 */
export async function verifyJwt(token: string, keys: JWTVerifyGetKey, rules: JwtRules): Promise<Identity | string> {
  try {
    const { payload } = await jwtVerify(token, keys, { issuer: rules.issuer, audience: rules.audience });
    const sub = payload.sub ?? "";
    if (!NAME_PATTERN.test(sub)) return "the token's sub must be 1 to 128 characters of letters, digits and \"._:@/-\"";
    const claim = payload[rules.rolesClaim];
    const listed = Array.isArray(claim) ? claim.map(String) : typeof claim === "string" ? claim.split(/[\s,]+/) : [];
    return { name: sub, roles: new Set<Role>(listed.filter(isRole)), via: "jwt" };
  } catch (err) {
    if (err instanceof errors.JWTExpired) return "the token has expired";
    if (err instanceof errors.JWTClaimValidationFailed) return `the token's ${err.claim} claim is not accepted`;
    return "the token is not valid";
  }
}
