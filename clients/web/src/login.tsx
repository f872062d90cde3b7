import { useState } from "preact/hooks";
import { RpcError } from "./api/rpc";
import { t } from "./i18n";
import { login } from "./session";

export function LoginPage() {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await login(username, password);
    } catch (err) {
      if (err instanceof RpcError && err.code === -32002) {
        const s = Math.ceil(Number((err.data as any)?.retry_after_s ?? 1));
        setError(t("throttled", { s }));
      } else if (err instanceof RpcError && err.code === -32001) setError(t("badLogin"));
      else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setPassword("");
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">{t("title")}</h1>
        <label>
          {t("username")}
          <input name="username" autoComplete="username" required value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t("password")}
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          {t("signIn")}
        </button>
        {error && (
          <p class="error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
