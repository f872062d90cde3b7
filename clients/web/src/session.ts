// The signed-in user. The refresh token lives in this module's memory only (never localStorage or a
// cookie): a reload asks for the password again. Access tokens are refreshed a minute before expiry.
import { METHOD_ROLES, type MethodName, type Methods } from "./api/generated";
import { Rpc, RpcError, wsUrl } from "./api/rpc";

export type User = Methods["login"]["result"];
const RANK: Record<string, number> = { public: 0, viewer: 1, operator: 2, admin: 3 };

export const rpc = new Rpc(wsUrl());
let user: User | null = null;
let refreshTimer = 0;
let refreshing: Promise<void> | null = null;
const listeners = new Set<(u: User | null) => void>();

export function currentUser(): User | null {
  return user;
}

export function onUser(f: (u: User | null) => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

/** True when the signed-in role may call `method` (the server's own METHOD_ROLES, generated). */
export function can(method: MethodName): boolean {
  return !!user && RANK[user.role] >= RANK[METHOD_ROLES[method]];
}

function setUser(u: User | null) {
  user = u;
  window.clearTimeout(refreshTimer);
  if (u) {
    // Renewed silently before it expires: a minute early for the usual 15 min, a fifth early for short ones.
    const left = Date.parse(u.expires_at) - Date.now();
    const ms = left - Math.min(60_000, left / 5);
    refreshTimer = window.setTimeout(() => void refreshNow().catch(() => signOutLocal()), Math.max(1_000, ms));
  }
  listeners.forEach((f) => f(u));
}

function signOutLocal() {
  setUser(null);
}

/** One refresh at a time: a refresh token works once, a second use would end the session. */
function refreshNow(): Promise<void> {
  if (!refreshing) {
    const token = user?.refresh_token;
    refreshing = (async () => {
      if (!token) throw new RpcError(-32001, "not signed in");
      setUser(await rpc.raw("refresh", { refresh_token: token }));
    })().finally(() => (refreshing = null));
  }
  return refreshing;
}

// After a reconnect: bind the identity to the new socket (access token while valid, else refresh).
rpc.authenticate = async () => {
  if (!user) return;
  if (Date.parse(user.expires_at) - Date.now() > 30_000) {
    try {
      await rpc.raw("authenticate", { auth_token: user.access_token });
      return;
    } catch {
      /* fall through to refresh */
    }
  }
  try {
    await refreshNow();
  } catch (e) {
    signOutLocal();
    throw e;
  }
};

export async function login(username: string, password: string): Promise<void> {
  performance.mark("login-start");
  await rpc.connect();
  const u = await rpc.raw("login", { username, password });
  performance.mark("login-done");
  setUser(u);
}

export async function logout(): Promise<void> {
  const token = user?.refresh_token;
  try {
    await rpc.call("logout", { refresh_token: token });
  } finally {
    signOutLocal();
  }
}
