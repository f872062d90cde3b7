// Rules: list, enable/disable, remove, and an editor for a new or an existing rule: the trigger (topics,
// cameras, conditions, cooldown) and its actions, whose fields come from the server's own parameter
// schemas (list_rule_action_types), so a new action type needs no console change.
import { useState } from "preact/hooks";
import type { ActionTypeInfo, Rule, RuleAction, Severity, Trigger } from "./api/generated";
import { Act, Choice, Field, list, Messages, Table, useAction, useLoad } from "./admin_ui";
import { getLang, t } from "./i18n";
import { paramText, term } from "./i18n_terms";
import { can, rpc } from "./session";

const SEVERITIES = ["", "low", "medium", "high", "critical"] as const;
type Prop = { type?: string; enum?: string[]; anyOf?: Prop[]; $ref?: string; title?: string; description?: string; default?: unknown };
/** A parameter as the editor shows it: the schema's `title` as its label, `description` as its hint. */
type Param = Prop & { name: string; required: boolean };

interface Draft {
  id: string | null; // null: a new rule
  name: string;
  topics: string;
  cameras: string;
  labels: string;
  minSeverity: (typeof SEVERITIES)[number];
  minConfidence: string;
  cooldown: string;
  actions: Array<{ type: string; params: Record<string, string> }>;
  keep: Pick<Trigger, "schedule"> & { data?: Record<string, unknown> }; // not edited here, kept as they are
}

const EMPTY: Draft = { id: null, name: "", topics: "", cameras: "", labels: "", minSeverity: "", minConfidence: "", cooldown: "0", actions: [], keep: {} };

function draftOf(r: Rule): Draft {
  const c = r.trigger.conditions ?? {};
  return {
    id: r.id,
    name: r.name,
    topics: r.trigger.topics.join(", "),
    cameras: (r.trigger.cameras ?? []).join(", "),
    labels: (c.labels ?? []).join(", "),
    minSeverity: c.min_severity ?? "",
    minConfidence: c.min_confidence == null ? "" : String(c.min_confidence),
    cooldown: String(r.trigger.cooldown_s ?? 0),
    keep: { schedule: r.trigger.schedule, data: c.data },
    actions: r.actions.map((a) => ({
      type: a.type,
      params: Object.fromEntries(Object.entries(a.params ?? {}).map(([k, v]) => [k, v == null ? "" : String(v)])),
    })),
  };
}

/** The JSON type of a schema property (`float | None` is anyOf [number, null]). */
function kind(p: Prop): string {
  return p.type ?? p.anyOf?.find((x) => x.type && x.type !== "null")?.type ?? "string";
}

/** The action's parameters, `$ref`s (an enum such as Severity) resolved from the schema's `$defs`. */
function props(info: ActionTypeInfo | undefined): Param[] {
  const schema = (info?.params_schema ?? {}) as { properties?: Record<string, Prop>; required?: string[]; $defs?: Record<string, Prop> };
  return Object.entries(schema.properties ?? {}).map(([name, p]) => {
    const ref = p.$ref?.startsWith("#/$defs/") ? schema.$defs?.[p.$ref.slice(8)] : undefined;
    return { ...ref, ...p, name, required: (schema.required ?? []).includes(name) };
  });
}

/** "duration_s" -> "Duration s": only for a schema without titles (an action type of another domain). */
const humanize = (k: string) => k.charAt(0).toUpperCase() + k.slice(1).replace(/_/g, " ");

/** The schema default as a placeholder ("" and null are "nothing": the hint says what empty means). */
const placeholderOf = (p: Param) => (p.default == null || p.default === "" ? undefined : String(p.default));

function toRule(d: Draft, types: ActionTypeInfo[]): { trigger: Trigger; actions: RuleAction[] } {
  const trigger: Trigger = {
    topics: list(d.topics),
    cameras: list(d.cameras).length ? list(d.cameras) : null,
    schedule: d.keep.schedule ?? null,
    conditions: {
      data: d.keep.data ?? {},
      labels: list(d.labels).length ? list(d.labels) : null,
      min_severity: (d.minSeverity || null) as Severity | null,
      min_confidence: d.minConfidence === "" ? null : Number(d.minConfidence),
    },
    cooldown_s: Number(d.cooldown || 0),
  };
  const actions = d.actions.map((a) => {
    const schema = Object.fromEntries(props(types.find((x) => x.type === a.type)).map((p) => [p.name, p]));
    const params: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(a.params)) {
      if (v === "" || !(k in schema)) continue; // empty: the server's default
      const ty = kind(schema[k]);
      params[k] = ty === "number" || ty === "integer" ? Number(v) : ty === "boolean" ? v === "true" : v;
    }
    return { type: a.type, params };
  });
  return { trigger, actions };
}

/** 0=Monday..6=Sunday as the language's short weekday names (2024-01-01 was a Monday). */
const weekdays = (days: number[]) =>
  days.map((d) => new Intl.DateTimeFormat(getLang(), { weekday: "short", timeZone: "UTC" }).format(Date.UTC(2024, 0, 1 + d))).join(", ");

/** A trigger as an operator reads it: "Topics: door.forced · Cameras: cam1 · Minimum severity: high". */
function triggerText(tr: Trigger): string {
  const c = tr.conditions ?? {};
  const s = tr.schedule;
  const data = Object.entries(c.data ?? {}).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return [
    `${t("topics")}: ${tr.topics.join(", ")}`,
    tr.cameras?.length && `${t("cameras")}: ${tr.cameras.join(", ")}`,
    c.min_severity && `${t("minSeverity")}: ${term(c.min_severity)}`,
    c.labels?.length && `${t("labels")}: ${c.labels.join(", ")}`,
    c.min_confidence != null && `${t("minConfidence")}: ${c.min_confidence}`,
    data.length && `${t("data")}: ${data.join(", ")}`,
    s && `${t("schedule")}: ${s.start ?? "00:00"}–${s.end ?? "24:00"}${s.days?.length ? ` (${weekdays(s.days)})` : ""}${s.timezone ? ` ${s.timezone}` : ""}`,
    tr.cooldown_s ? `${t("cooldown")}: ${tr.cooldown_s}` : "",
  ]
    .filter(Boolean)
    .join(" · ");
}

export function Rules() {
  const [rules, reload, loadError] = useLoad(() => rpc.call("list_rules"));
  const [types] = useLoad(() => rpc.call("list_rule_action_types"));
  const [run, error, note] = useAction();
  const [draft, setDraft] = useState<Draft | null>(null);
  const mayEdit = can("add_rule");
  const save = (d: Draft) =>
    run(async () => {
      const body = toRule(d, types ?? []);
      if (d.id) await rpc.call("update_rule", { id: d.id, name: d.name, ...body });
      else await rpc.call("add_rule", { name: d.name, ...body });
      setDraft(null);
      reload();
      return `${t("saved")}: ${d.name}`;
    });
  return (
    <div>
      {mayEdit && !draft && (
        <button type="button" data-testid="rule-new" onClick={() => setDraft({ ...EMPTY, actions: [] })}>
          {t("newRule")}
        </button>
      )}
      {draft && types && <RuleEditor draft={draft} types={types} onSave={(d) => void save(d)} onCancel={() => setDraft(null)} />}
      <Messages error={error || loadError} note={note} />
      <Table head={[t("name"), t("trigger"), t("actions"), t("admin")]} empty={t("noRules")}>
        {rules?.map((r) => (
          <tr key={r.id} data-rule={r.id}>
            <td>{r.name}</td>
            <td data-testid="rule-trigger">{triggerText(r.trigger)}</td>
            <td>{r.actions.map((a) => term(a.type)).join(", ")}</td>
            <td>
              {mayEdit && r.source === "api" && (
                <button type="button" onClick={() => setDraft(draftOf(r))}>
                  {t("edit")}
                </button>
              )}
              <Act label={r.enabled === false ? t("enable") : t("disable")} run={run} f={async () => (await rpc.call("update_rule", { id: r.id, enabled: r.enabled === false }), reload())} />
              {mayEdit && r.source === "api" && <Act label={t("remove")} ask={`${t("remove")} ${r.name}?`} run={run} f={async () => (await rpc.call("remove_rule", { id: r.id }), reload())} />}
            </td>
          </tr>
        ))}
      </Table>
    </div>
  );
}

function RuleEditor({ draft, types, onSave, onCancel }: { draft: Draft; types: ActionTypeInfo[]; onSave: (d: Draft) => void; onCancel: () => void }) {
  const [d, setD] = useState<Draft>(draft);
  const set = (k: keyof Draft) => (v: string) => setD({ ...d, [k]: v });
  const setAction = (i: number, a: Draft["actions"][number]) => setD({ ...d, actions: d.actions.map((x, j) => (j === i ? a : x)) });
  return (
    <form
      class="rule-editor"
      aria-label={t("ruleEditor")}
      onSubmit={(e) => {
        e.preventDefault();
        onSave(d);
      }}
    >
      <fieldset class="row">
        <legend>{t("trigger")}</legend>
        <Field label={t("name")} value={d.name} set={set("name")} />
        <Field label={t("topics")} value={d.topics} set={set("topics")} />
        <Field label={t("cameras")} value={d.cameras} set={set("cameras")} />
      </fieldset>
      <fieldset class="row">
        <legend>{t("conditions")}</legend>
        <Choice label={t("minSeverity")} value={d.minSeverity} options={SEVERITIES} names={term} set={(v) => setD({ ...d, minSeverity: v })} />
        <Field label={t("labels")} value={d.labels} set={set("labels")} />
        <Field label={t("minConfidence")} value={d.minConfidence} set={set("minConfidence")} />
        <Field label={t("cooldown")} value={d.cooldown} set={set("cooldown")} />
      </fieldset>
      <fieldset>
        <legend>{t("actions")}</legend>
        {d.actions.map((a, i) => (
          <fieldset class="row action" data-action={i}>
            <legend>
              {t("action")} {i + 1}
            </legend>
            <Choice label={t("type")} value={a.type} options={types.map((x) => x.type)} names={term} set={(type) => setAction(i, { type, params: {} })} />
            {props(types.find((x) => x.type === a.type)).map((p) => {
              const [label, hint] = paramText(p.name, p.title ?? humanize(p.name), p.description);
              const setParam = (v: string) => setAction(i, { ...a, params: { ...a.params, [p.name]: v } });
              const ty = kind(p);
              return p.enum ? (
                <Choice label={label} hint={hint} value={a.params[p.name] ?? ""} options={["", ...p.enum]} names={(o) => (o ? term(o) : `${t("byDefault")}: ${term(placeholderOf(p) ?? "—")}`)} set={setParam} />
              ) : (
                <Field
                  label={label}
                  hint={hint}
                  placeholder={placeholderOf(p)}
                  required={p.required}
                  inputMode={ty === "number" ? "decimal" : ty === "integer" ? "numeric" : undefined}
                  value={a.params[p.name] ?? ""}
                  set={setParam}
                />
              );
            })}
            <button type="button" onClick={() => setD({ ...d, actions: d.actions.filter((_, j) => j !== i) })}>
              {t("removeAction", { n: i + 1 })}
            </button>
          </fieldset>
        ))}
        <button type="button" data-testid="rule-add-action" onClick={() => setD({ ...d, actions: [...d.actions, { type: types[0]?.type ?? "notify", params: {} }] })}>
          {t("addAction")}
        </button>
      </fieldset>
      <div class="row">
        <button type="submit" data-testid="rule-save" disabled={!d.name || !list(d.topics).length}>
          {t("save")}
        </button>
        <button type="button" onClick={onCancel}>
          {t("cancel")}
        </button>
      </div>
    </form>
  );
}
