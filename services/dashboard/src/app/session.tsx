import { useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { createApi, type Api } from "./api.js";

const TOKEN_KEY = "taskflow.token";

/** The signed-in session: the API clients with the token, and how to change it. */
export interface Session {
  api: Api;
  /** Whether a token is in use (the services asked for one; without one, authentication is off). */
  authRequired: boolean;
  signedIn: boolean;
  signIn: (token: string) => void;
  signOut: () => void;
}

const SessionContext = createContext<Session | undefined>(undefined);

/** The token this tab signed in with, if any. */
export const storedToken = (): string | undefined => sessionStorage.getItem(TOKEN_KEY) ?? undefined;

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
 * anywhere but the Authorization header of the dashboard's own calls). The pages call the
 * services at once, with the token if there is one; the first `unauthenticated` answer (no token
 * where the services want one, or a token they no longer accept) forgets the token and shows
 * the sign-in page. No call is spent finding out first, so a page's data comes one round trip
 * sooner.
 */
export function SessionProvider({ children }: { children: (s: Session) => ReactNode }): ReactNode {
  const queries = useQueryClient();
  const [token, setToken] = useState<string | undefined>(storedToken);
  const [needToken, setNeedToken] = useState(false);
  const signOut = useCallback(() => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken(undefined);
    setNeedToken(true);
    // What the previous token could read is not the next one's to see.
    queries.clear();
  }, [queries]);
  const api = useMemo(() => createApi(() => token, signOut), [token, signOut]);
  const signIn = useCallback((t: string) => {
    sessionStorage.setItem(TOKEN_KEY, t);
    setToken(t);
    setNeedToken(false);
  }, []);
  const session = useMemo<Session>(
    () => ({ api, authRequired: token !== undefined, signedIn: !needToken, signIn, signOut }),
    [api, token, needToken, signIn, signOut],
  );
  return <SessionContext.Provider value={session}>{children(session)}</SessionContext.Provider>;
}
