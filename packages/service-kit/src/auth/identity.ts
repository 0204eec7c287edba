import { createContextKey, type HandlerContext } from "@connectrpc/connect";

/** What an identity may do; each RPC group needs one of them (see access-policy.ts). */
export const ROLES = ["submitter", "worker", "reader", "admin", "service"] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (s: string): s is Role => (ROLES as readonly string[]).includes(s);

/** A verified caller: who it is, what it may do, and how it proved it. */
export interface Identity {
  /** The name audit events carry (`api:<name>`, `worker:<name>`). */
  readonly name: string;
  readonly roles: ReadonlySet<Role>;
  readonly via: "token" | "jwt" | "certificate" | "none";
}

/** The caller of every call when authentication is off (loopback only, or AUTH_DISABLED). */
export const UNVERIFIED: Identity = { name: "", roles: new Set(ROLES), via: "none" };

/** Where the auth interceptor leaves the caller's identity for the handlers. */
export const identityKey = createContextKey<Identity>(UNVERIFIED, { description: "verified caller" });

/** The verified caller of a call (UNVERIFIED when authentication is off). */
export const identityOf = (ctx: Pick<HandlerContext, "values">): Identity => ctx.values.get(identityKey);

/**
 * The actor audit events record for what `ctx`'s caller did as `kind` ("api" for submitters and
 * admins, "worker" for workers): `<kind>:<name>`, or plain `<kind>` when authentication is off.
 */
export function actorOf(ctx: Pick<HandlerContext, "values">, kind: "api" | "worker"): string {
  const { name } = identityOf(ctx);
  return name === "" ? kind : `${kind}:${name}`;
}
