import { useQuery } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { createApi, isUnauthenticated, type Api } from "./api.js";

const TOKEN_KEY = "taskflow.token";

/** The signed-in session: the API clients with the token, and how to change it. */
export interface Session {
  api: Api;
  /** Whether the services ask for a token at all (false when authentication is off). */
  authRequired: boolean;
  signedIn: boolean;
  signIn: (token: string) => void;
  signOut: () => void;
}

const SessionContext = createContext<Session | undefined>(undefined);

/** The session of the pages below; only inside {@link SessionProvider}. */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (s === undefined) throw new Error("useSession outside SessionProvider");
  return s;
}

/** The API clients of the session. */
export const useApi = (): Api => useSession().api;

/**
 * Holds the token for this browser tab (sessionStorage: gone when the tab closes, never sent
 * anywhere but the Authorization header of the dashboard's own calls) and finds out whether the
 * services want one: a first call without a token answers `unauthenticated` when they do.
 */
export function SessionProvider({ children }: { children: (s: Session | "probing") => ReactNode }): ReactNode {
  const [token, setToken] = useState<string | undefined>(() => sessionStorage.getItem(TOKEN_KEY) ?? undefined);
  const signOut = useCallback(() => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken(undefined);
  }, []);
  const api = useMemo(() => createApi(() => token, signOut), [token, signOut]);
  const probe = useQuery({
    queryKey: ["auth-probe"],
    queryFn: async () => {
      try {
        await createApi(() => undefined).queues.listQueues({});
        return { authRequired: false };
      } catch (err) {
        if (isUnauthenticated(err)) return { authRequired: true };
        throw err;
      }
    },
    staleTime: Infinity,
    retry: false,
  });
  const signIn = useCallback((t: string) => {
    sessionStorage.setItem(TOKEN_KEY, t);
    setToken(t);
  }, []);
  // A failed probe (services down) shows the pages, which then say what is unreachable.
  const authRequired = probe.data?.authRequired ?? false;
  const session = useMemo<Session>(
    () => ({ api, authRequired, signedIn: !authRequired || token !== undefined, signIn, signOut }),
    [api, authRequired, token, signIn, signOut],
  );
  return (
    <SessionContext.Provider value={session}>{probe.isPending ? children("probing") : children(session)}</SessionContext.Provider>
  );
}
