import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { rolesFor, type AccessPolicy } from "./access-policy.js";
import type { Authenticator } from "./authenticator.js";
import { peerCertificateKey } from "./authenticator.js";
import { identityKey } from "./identity.js";

/**
 * Checks every call against `policy`: public services pass; otherwise the caller must prove an
 * identity (`unauthenticated` when it cannot) that holds one of the method's roles
 * (`permission_denied` when it does not). The identity is left in the call's context values for
 * the handlers (see identityOf). Without an authenticator (authentication off) every call passes
 * as the unverified caller.
 */
export function createAuthInterceptor(auth: Authenticator | undefined, policy: AccessPolicy): Interceptor {
  return (next) => async (req) => {
    if (auth === undefined) return next(req);
    const roles = rolesFor(policy, req.service.typeName, req.method.name);
    if (roles === "public") return next(req);
    const identity = await auth.authenticate(req.header.get("authorization"), req.contextValues.get(peerCertificateKey));
    if (!roles.some((r) => identity.roles.has(r))) {
      const need = roles.length === 0 ? "no role may call it" : `it needs the role ${roles.join(" or ")}`;
      throw new ConnectError(`${identity.name} may not call ${req.service.typeName}/${req.method.name}: ${need}`, Code.PermissionDenied);
    }
    req.contextValues.set(identityKey, identity);
    return next(req);
  };
}
