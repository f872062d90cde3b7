// Times are shown in the site time zone (the server's `server.time_zone`, from get_server_info) unless this
// device overrides it (kept in localStorage: no secret); the UTC value is on hover. Date/time inputs are
// read in the same zone, so what an operator types is what the timeline, events and exports show.
let site = "UTC";
let override = localStorage.getItem("tz") || "";

export function siteZone(): string {
  return site;
}

export function setSite(z: string) {
  site = z || "UTC";
}

/** The device's own choice ("" = follow the site). */
export function deviceZone(): string {
  return override;
}

export function setDeviceZone(z: string) {
  override = z;
  if (z) localStorage.setItem("tz", z);
  else localStorage.removeItem("tz");
}

/** The zone times are shown in. */
export function zone(): string {
  return override || site;
}

export function fmt(t: number | string | Date, withDate = true): string {
  const d = new Date(t);
  return new Intl.DateTimeFormat(undefined, {
    timeZone: zone(),
    year: withDate ? "numeric" : undefined,
    month: withDate ? "2-digit" : undefined,
    day: withDate ? "2-digit" : undefined,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  }).format(d);
}

export function utc(t: number | string | Date): string {
  return new Date(t).toISOString();
}

/** The wall-clock fields of `ms` in the zone, as "YYYY-MM-DDTHH:MM:SS" (a datetime-local value). */
export function toZoneInput(ms: number): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone(),
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(ms));
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
}

/** The zone's UTC offset at `ms` as "+HHMM"/"-HHMM" (what ISO 8601 basic format writes). */
export function offsetOf(ms: number): string {
  const whole = Math.floor(ms / 1000) * 1000;
  const min = Math.round((Date.parse(toZoneInput(whole) + "Z") - whole) / 60_000);
  const a = Math.abs(min);
  return `${min < 0 ? "-" : "+"}${String(Math.floor(a / 60)).padStart(2, "0")}${String(a % 60).padStart(2, "0")}`;
}

/** A download's file name: `<camera>_<YYYY-MM-DD>_<HH-MM-SS><+HHMM>.<ext>`, wall-clock time in the zone the
 * console shows times in, with its UTC offset so the name is unambiguous (also across a DST change).
 * Only [A-Za-z0-9._+-]: safe on Windows, macOS and Linux (no ':' and no '/' of a zone name). */
export function downloadName(camera: string, ms: number, ext: string): string {
  const [date, time] = toZoneInput(ms).split("T");
  return `${camera.replace(/[^A-Za-z0-9._-]/g, "_")}_${date}_${time.replace(/:/g, "-")}${offsetOf(ms)}.${ext}`;
}

/** A datetime-local value read as wall-clock time in the zone -> Unix ms (NaN when not a date). */
export function fromZoneInput(value: string): number {
  const asUtc = Date.parse(value.length === 16 ? `${value}:00Z` : `${value}Z`);
  if (Number.isNaN(asUtc)) return NaN;
  // The zone's offset at that instant; a second pass settles values near a DST change.
  let ms = asUtc;
  for (let i = 0; i < 2; i++) ms = asUtc - (Date.parse(toZoneInput(ms) + "Z") - ms);
  return ms;
}

let known: string[] | null = null;

/** Every IANA zone the browser knows (computed once). */
export function zones(): string[] {
  if (!known) {
    const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
    const all = intl.supportedValuesOf?.("timeZone") ?? [];
    known = all.includes("UTC") ? all : ["UTC", ...all];
  }
  return known;
}
