import { useState, type FormEvent, type ReactNode } from "react";
import { createApi, describeError } from "../api.js";
import { useSession } from "../session.js";

/**
 * Sign-in with a token of the services' tokens file (or a JWT their issuer signed). The token is
 * tried with a reader's call first, so a wrong one is refused here, with the services' reason.
 */
export function SignIn(): ReactNode {
  const { signIn } = useSession();
  const [token, setToken] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await createApi(() => token.trim()).queues.listQueues({});
      signIn(token.trim());
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" className="sign-in">
      <h1>TaskFlow</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label htmlFor="token">Token</label>
        <input id="token" name="token" type="password" autoComplete="current-password" required value={token} onChange={(e) => setToken(e.target.value)} />
        <p className="hint">A token with the role reader sees everything; actions need the roles their calls need (admin, submitter).</p>
        <button type="submit" disabled={busy || token.trim() === ""}>
          Sign in
        </button>
        {error !== undefined && (
          <p className="notice error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
