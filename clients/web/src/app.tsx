import { useEffect, useState } from "preact/hooks";
import { AdminPage } from "./admin";
import { EventsPage } from "./events";
import { getLang, setLang, t, type Lang } from "./i18n";
import { term } from "./i18n_terms";
import { LivePage } from "./live/live";
import { LoginPage } from "./login";
import { RecordingsPage } from "./recordings";
import { can, currentUser, logout, onUser, rpc, type User } from "./session";
import { deviceZone, setDeviceZone, setSite, siteZone, zones } from "./time";

function useHash(): string {
  const [hash, setHash] = useState(location.hash || "#/live");
  useEffect(() => {
    const f = () => setHash(location.hash || "#/live");
    window.addEventListener("hashchange", f);
    return () => window.removeEventListener("hashchange", f);
  }, []);
  return hash;
}

export function App() {
  const [user, setUser] = useState<User | null>(currentUser());
  const [, force] = useState(0);
  const [conn, setConn] = useState(rpc.state);
  const hash = useHash();
  useEffect(() => onUser(setUser), []);
  useEffect(() => rpc.onState(setConn), []);
  useEffect(() => {
    // The site's time zone (server.time_zone); a device may override it below.
    if (user)
      void rpc
        .call("get_server_info")
        .then((info) => (setSite(info.time_zone ?? "UTC"), force((n) => n + 1)))
        .catch(() => undefined);
  }, [user?.username]);
  if (!user) return <LoginPage />;

  const route = hash.slice(2).split("/");
  const isAdmin = can("list_users");
  let page;
  if (route[0] === "events") page = <EventsPage />;
  else if (route[0] === "recordings") page = <RecordingsPage camera={decodeURIComponent(route[1] ?? "")} />;
  else if (route[0] === "admin" && isAdmin) page = <AdminPage />;
  else page = <LivePage />;
  const nav = [
    ["live", t("live")],
    ["events", t("events")],
    ["recordings", t("recordings")],
    ...(isAdmin ? [["admin", t("admin")]] : []),
  ];
  return (
    <div class="shell">
      <header>
        <nav aria-label={t("mainNav")}>
          {nav.map(([id, label]) => (
            <a href={`#/${id}`} aria-current={route[0] === id ? "page" : undefined} data-nav={id}>
              {label}
            </a>
          ))}
        </nav>
        <div class="prefs">
          <span class={`conn conn-${conn}`} title={term(conn)} role="img" aria-label={t("connection", { state: term(conn) })} />
          <label>
            {t("language")}
            <select
              data-testid="lang"
              value={getLang()}
              onChange={(e) => {
                setLang((e.target as HTMLSelectElement).value as Lang);
                force((n) => n + 1);
              }}
            >
              <option value="en">English</option>
              <option value="ar">العربية</option>
            </select>
          </label>
          <label>
            {t("timeZone")}
            <select
              data-testid="tz"
              value={deviceZone()}
              onChange={(e) => {
                setDeviceZone((e.target as HTMLSelectElement).value);
                force((n) => n + 1);
              }}
            >
              <option value="">
                {t("siteZone")}: {siteZone()}
              </option>
              {zones().map((z) => (
                <option value={z}>{z}</option>
              ))}
            </select>
          </label>
          <span class="who">
            {user.username} ({term(user.role)})
          </span>
          <button type="button" onClick={() => void logout()}>
            {t("signOut")}
          </button>
        </div>
      </header>
      <main>{page}</main>
    </div>
  );
}
