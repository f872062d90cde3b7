// Words that come from the server (enum values, rule action types, action parameter names) in the
// console's language. English shows them as the server sends them; an unknown one is shown as it is.
import { getLang } from "./i18n";

const TERMS_AR: Record<string, string> = {
  // severities and event statuses
  low: "منخفضة",
  medium: "متوسطة",
  high: "عالية",
  critical: "حرجة",
  new: "جديد",
  acknowledged: "مُقَر",
  resolved: "تم الحل",
  false_positive: "إنذار كاذب",
  // roles
  viewer: "مشاهد",
  operator: "مشغّل",
  admin: "مسؤول",
  // recording modes
  off: "متوقف",
  continuous: "مستمر",
  scheduled: "مجدول",
  events: "عند الأحداث",
  // camera and connection states
  ONLINE: "متصلة",
  OFFLINE: "غير متصلة",
  ERROR: "خطأ",
  DISABLED: "معطّلة",
  open: "مفتوح",
  closed: "مغلق",
  connecting: "جارٍ الاتصال",
  // rule action types and stored media kinds
  clip: "مقطع",
  snapshot: "لقطة",
  webhook: "خطاف ويب",
  record: "تسجيل",
  notify: "إشعار",
  clips: "مقاطع",
  snapshots: "لقطات",
  recordings: "تسجيلات",
  // webhook deliveries
  pending: "قيد الانتظار",
  delivered: "تم التسليم",
  dead: "متوقف نهائيًا",
};

/** A server value (enum member, action type) as the console's language names it. */
export function term(value: string): string {
  return getLang() === "ar" ? (TERMS_AR[value] ?? value) : value;
}

/** Arabic label and hint of a rule action parameter, by field name (the server's titles are English). */
const PARAMS_AR: Record<string, [string, string]> = {
  pre_s: ["الثواني قبل الحدث", "من 0 إلى 3600؛ فارغ: events.clip_pre_s المضبوط (10 ث افتراضيًا)."],
  post_s: ["الثواني بعد الحدث", "من 0 إلى 3600؛ فارغ: events.clip_post_s المضبوط (10 ث افتراضيًا)."],
  camera: ["الكاميرا", "معرّف الكاميرا؛ فارغ: كاميرا الحدث."],
  format: ["صيغة الصورة", "jpeg أو png."],
  id: ["خطاف الويب", "معرّف خطاف الويب الذي يُسلَّم إليه الحدث (بغض النظر عن مرشّح مواضيعه)."],
  duration_s: ["ثواني التسجيل", "مدة التسجيل، من 1 إلى 86400 ث."],
  severity: ["الخطورة", "خطورة حدث rule.notification."],
  message: ["الرسالة", "نص للمشغّلين."],
};

/** [label, hint] of an action parameter: Arabic from the table, else the server's title and description. */
export function paramText(name: string, title: string, description: string | undefined): [string, string | undefined] {
  const ar = getLang() === "ar" ? PARAMS_AR[name] : undefined;
  return ar ?? [title, description];
}
