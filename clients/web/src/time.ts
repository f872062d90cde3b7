// Times are shown in the site time zone (chosen per device, default UTC); the UTC value is on hover.
let zone = localStorage.getItem("tz") || "UTC";

export function siteZone(): string {
  return zone;
}

export function setSiteZone(z: string) {
  zone = z;
  localStorage.setItem("tz", z);
}

export function fmt(t: number | string | Date, withDate = true): string {
  const d = new Date(t);
  return new Intl.DateTimeFormat(undefined, {
    timeZone: zone,
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

export const ZONES = ["UTC", "Asia/Dubai", "Asia/Riyadh", "Europe/London", "Europe/Berlin", "America/New_York", "Asia/Tokyo"];
