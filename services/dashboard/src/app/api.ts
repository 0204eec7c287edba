import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AdminService, HistoryService, QueueService, ScheduleService, SchedulerService } from "@taskflow/proto";

/** The clients of every service the dashboard calls, through the server that serves it. */
export interface Api {
  scheduler: Client<typeof SchedulerService>;
  queues: Client<typeof QueueService>;
  schedules: Client<typeof ScheduleService>;
  admin: Client<typeof AdminService>;
  history: Client<typeof HistoryService>;
}

/**
 * Clients that send `token()` (when there is one) as a bearer token on every call, over the
 * Connect protocol with binary messages, to the page's own origin, which forwards them (see the
 * server's dashboard-server.ts); `onUnauthenticated` is called when the services want a token
 * the call did not have, or no longer accept the one it had. Every figure the dashboard shows comes from these public RPCs.
 */
export function createApi(token: () => string | undefined, onUnauthenticated: () => void = () => undefined): Api {
  const bearer: Interceptor = (next) => async (req) => {
    const t = token();
    if (t !== undefined) req.header.set("authorization", `Bearer ${t}`);
    try {
      return await next(req);
    } catch (err) {
      // No token where the services want one, or one revoked or expired since sign-in.
      if (isUnauthenticated(err)) onUnauthenticated();
      throw err;
    }
  };
  const transport = createConnectTransport({ baseUrl: window.location.origin, useBinaryFormat: true, interceptors: [bearer] });
  return {
    scheduler: createClient(SchedulerService, transport),
    queues: createClient(QueueService, transport),
    schedules: createClient(ScheduleService, transport),
    admin: createClient(AdminService, transport),
    history: createClient(HistoryService, transport),
  };
}

/**
 * What to tell an operator about a failed call, in the service's own words: a refusal
 * (permission_denied) names who was refused what and the role it needs.
 */
export function describeError(err: unknown): string {
  const e = ConnectError.from(err);
  if (e.code === Code.PermissionDenied || e.code === Code.Unauthenticated) return `Refused: ${e.rawMessage}`;
  return `${codeName(e.code)}: ${e.rawMessage}`;
}

/** `invalid_argument` for Code.InvalidArgument, as the services and buf curl spell codes. */
const codeName = (code: Code): string => (Code[code] ?? "unknown").replace(/[A-Z]/g, (c, i: number) => (i === 0 ? "" : "_") + c.toLowerCase());

/** Whether a call failed for want of a (valid) token. */
export const isUnauthenticated = (err: unknown): boolean => ConnectError.from(err).code === Code.Unauthenticated;
