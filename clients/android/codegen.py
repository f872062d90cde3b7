"""Generate the Kotlin client's typed API from the service's OpenRPC document.

    .venv/bin/python clients/android/codegen.py            # rewrite the generated Kotlin files
    .venv/bin/python clients/android/codegen.py --check    # exit 1 when they are stale
    .venv/bin/python clients/android/codegen.py --from openrpc.json   # from a saved rpc.discover answer

Output (package cameraservice.client): GeneratedModels.kt (a data class per schema, an enum class per
enum), GeneratedMethods.kt (a suspend extension of CameraClient per method) and GeneratedNotifications.kt
(the notification kinds). The output depends only on the document (sorted, no timestamps), so after a
rebase that adds methods, rerunning this is all it takes; tests/unit/test_kotlin_client_codegen.py fails
when the committed files differ from what this produces.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent / "src" / "main" / "kotlin" / "cameraservice" / "client"
PACKAGE = "cameraservice.client"

KEYWORDS = {
    "as", "break", "class", "continue", "do", "else", "false", "for", "fun", "if", "in", "interface", "is",
    "null", "object", "package", "return", "super", "this", "throw", "true", "try", "typealias", "typeof",
    "val", "var", "when", "while",
}  # fmt: skip
PRIMITIVES = {"string": "String", "integer": "Long", "number": "Double", "boolean": "Boolean"}


@dataclass(frozen=True)
class KType:
    """A Kotlin type: kind is prim (String/Long/Double/Boolean), ref, list, map or json (JsonX)."""

    kind: str
    name: str = ""
    item: KType | None = None

    def render(self) -> str:
        if self.kind in ("list", "map"):
            assert self.item is not None
            inner = self.item.render()
            return f"List<{inner}>" if self.kind == "list" else f"Map<String, {inner}>"
        return self.name

    def serializer(self) -> str:
        if self.kind == "list":
            assert self.item is not None
            return f"ListSerializer({self.item.serializer()})"
        if self.kind == "map":
            assert self.item is not None
            return f"MapSerializer(String.serializer(), {self.item.serializer()})"
        return f"{self.name}.serializer()"


JSON_ELEMENT = KType("json", "JsonElement")


def pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def camel(name: str) -> str:
    p = pascal(name)
    return p[:1].lower() + p[1:]


def ident(name: str) -> str:
    out = camel(name)
    if not out or out[0].isdigit():
        out = "_" + out
    return f"`{out}`" if out in KEYWORDS else out


def enum_constant(value: str) -> str:
    out = re.sub(r"[^A-Za-z0-9]+", "_", value).strip("_").upper() or "EMPTY"
    return "_" + out if out[0].isdigit() else out


def kdoc(lines: list[str], indent: str = "") -> str:
    text = [ln.replace("*/", "*&#47;").replace("/*", "/&#42;").rstrip() for ln in lines]
    while text and not text[-1]:
        text.pop()
    if not text:
        return ""
    if len(text) == 1:
        return f"{indent}/** {text[0]} */\n"
    body = "".join(f"{indent} *{' ' + ln if ln else ''}\n" for ln in text)
    return f"{indent}/**\n{body}{indent} */\n"


class Generator:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.schemas: dict[str, Any] = doc.get("components", {}).get("schemas", {})
        self.enums: dict[str, list[str]] = {}  # class name -> wire values
        self.classes: dict[str, str] = {}  # class name -> Kotlin source
        self.notification_classes: dict[str, str] = {}  # notification method -> class name
        self.unions: dict[str, list[str]] = {}  # sealed interface -> member schemas

    # ------------------------------------------------------------------ types
    def ktype(self, schema: dict[str, Any], hint: str) -> tuple[KType, bool]:
        """The Kotlin type of a schema and whether null is allowed; hint names inline enums."""
        if "$ref" in schema:
            return KType("ref", schema["$ref"].rsplit("/", 1)[-1]), False
        if "anyOf" in schema:
            options = [s for s in schema["anyOf"] if s.get("type") != "null"]
            nullable = len(options) < len(schema["anyOf"])
            if len(options) == 1:
                inner, inner_null = self.ktype(options[0], hint)
                return inner, nullable or inner_null
            if len(options) > 1 and all("$ref" in s for s in options):
                members = [s["$ref"].rsplit("/", 1)[-1] for s in options]
                return KType("ref", self.union("Or".join(members), members)), nullable
            if options and all(s.get("type") in PRIMITIVES and "enum" not in s for s in options):
                return KType("json", "JsonPrimitive"), nullable
            return JSON_ELEMENT, nullable
        if "enum" in schema and all(isinstance(v, str) for v in schema["enum"]):
            return KType("ref", self.enum(hint, schema["enum"])), False
        kind = schema.get("type")
        if "const" in schema or kind in PRIMITIVES:
            return KType("prim", PRIMITIVES.get(kind or "string", "String")), False
        if kind == "array":
            item, _ = self.ktype(schema.get("items", {}), hint + "Item")
            return KType("list", item=item), False
        if kind == "object":
            extra = schema.get("additionalProperties", True)
            if isinstance(extra, dict) and extra:
                item, _ = self.ktype(extra, hint + "Value")
                return KType("map", item=item), False
            return KType("json", "JsonObject"), False
        return JSON_ELEMENT, False

    def union(self, name: str, members: list[str]) -> str:
        """One of several object schemas: a sealed interface the members implement."""
        if name in self.unions and self.unions[name] != members:
            raise ValueError(f"two different unions would be named {name}")
        self.unions[name] = members
        return name

    def union_interface(self, name: str, members: list[str]) -> str:
        required = {
            m: ", ".join(json.dumps(r) for r in sorted(self.schemas[m].get("required", []))) for m in members
        }
        alternatives = "".join(f"            setOf({required[m]}) to {m}.serializer(),\n" for m in members)
        doc = (
            f"One of {', '.join(f'[{m}]' for m in members)}: the first whose required fields are all present."
        )
        return (
            f"{kdoc([doc])}@Serializable(with = {name}.Serializer::class)\n"
            f"public sealed interface {name} {{\n"
            f"    public object Serializer : UnionSerializer<{name}>(\n"
            f"        {name}::class,\n        listOf(\n{alternatives}        ),\n    )\n}}\n"
        )

    def enum(self, name: str, values: list[str]) -> str:
        if name in self.enums and self.enums[name] != values:
            raise ValueError(f"two different enums would be named {name}")
        self.enums[name] = values
        return name

    # ------------------------------------------------------------------ models
    def data_class(self, name: str, schema: dict[str, Any], implements: list[str]) -> str:
        props: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", []))
        head = kdoc(schema.get("description", "").splitlines())
        supertype = f" : {', '.join(implements)}" if implements else ""
        if not props:
            return f"{head}@Serializable\npublic class {name}{supertype}\n"
        fields = []
        for wire, prop in props.items():
            ktype, nullable = self.ktype(prop, name + pascal(wire))
            optional = nullable or wire not in required
            doc = kdoc(prop.get("description", "").splitlines(), "    ")
            rendered = ktype.render() + ("? = null" if optional else "")
            fields.append(f'{doc}    @SerialName("{wire}") val {ident(wire)}: {rendered},\n')
        return f"{head}@Serializable\npublic data class {name}(\n{''.join(fields)}){supertype}\n"

    def enum_class(self, name: str, values: list[str]) -> str:
        seen: dict[str, int] = {}
        entries = []
        for value in values:
            const = enum_constant(value)
            seen[const] = seen.get(const, 0) + 1
            const = const if seen[const] == 1 else f"{const}_{seen[const]}"
            entries.append(f'    {const}("{value}"),\n')
        desc = self.schemas.get(name, {}).get("description", "")
        return (
            f"{kdoc(desc.splitlines())}@Serializable(with = {name}.Serializer::class)\n"
            f"public enum class {name}(override val wire: String) : WireEnum {{\n"
            f"{''.join(entries)}"
            '    /** A value this client version does not know yet. */\n    UNKNOWN("");\n\n'
            f'    public object Serializer : WireEnumSerializer<{name}>("{name}", entries, UNKNOWN)\n}}\n'
        )

    # ------------------------------------------------------------------ methods
    def method(self, spec: dict[str, Any]) -> str:
        name = spec["name"]
        fun = camel(name)
        params = sorted(spec.get("params", []), key=lambda p: not p.get("required", False))
        result, result_null = self.ktype(spec["result"]["schema"], pascal(name) + "Result")
        result_type = result.render() + ("?" if result_null else "")
        result_ser = result.serializer() + (".nullable" if result_null else "")
        idempotent = "false" if spec.get("x-mutating", True) else "true"
        doc = [spec.get("summary", ""), ""]
        if spec.get("description"):
            doc += [*spec["description"].splitlines(), ""]
        mutating = " · changes state" if spec.get("x-mutating") else " · read-only, retried after a reconnect"
        doc.append(f"Method `{name}` · role {spec.get('x-role', '?')}{mutating}.")
        args, fields = [], []
        for p in params:
            ktype, nullable = self.ktype(p["schema"], pascal(name) + pascal(p["name"]))
            optional = nullable or not p.get("required", False)
            arg = ident(p["name"])
            if arg in ("options", "`options`"):
                raise ValueError(f"{name}: a param named options clashes with CallOptions")
            args.append(f"    {arg}: {ktype.render()}{'? = null' if optional else ''},\n")
            fields.append((p, ktype, optional))
            if p.get("description"):
                doc.append(f"@param {arg.strip('`')} {p['description'].splitlines()[0]}")
        doc.append("@param options timeout and retry of this call")
        args.append("    options: CallOptions = CallOptions.DEFAULT,\n")
        call_args = (
            f'"{name}", null as JsonElement?, {result_ser}, idempotent = {idempotent}, options = options'
        )
        if fields:
            params_class = pascal(name) + "Params"
            self.params_class(params_class, fields)
            values = ", ".join(f"{ident(p['name'])} = {ident(p['name'])}" for p, _, _ in fields)
            call_args = (
                f'\n        "{name}",\n        {params_class}({values}),\n'
                f"        {params_class}.serializer(),\n"
                f"        {result_ser},\n        idempotent = {idempotent},\n        options = options,\n    "
            )
        return (
            f"{kdoc(doc)}public suspend fun CameraClient.{ident(fun)}(\n{''.join(args)}): {result_type} =\n"
            f"    call({call_args})\n"
        )

    def params_class(self, name: str, fields: list[tuple[dict[str, Any], KType, bool]]) -> None:
        if name in self.schemas:
            raise ValueError(f"params class {name} clashes with a schema of that name")
        body = "".join(
            f'    @SerialName("{p["name"]}") val {ident(p["name"])}: '
            f"{t.render()}{'? = null' if opt else ''},\n"
            for p, t, opt in fields
        )
        self.classes[name] = f"@Serializable\ninternal data class {name}(\n{body})\n"

    # ------------------------------------------------------------------ files
    def generate(self) -> dict[str, str]:
        for note in self.doc.get("x-notifications", []):
            title = note.get("params", {}).get("title", "")
            cls = title if title in self.schemas else pascal(note["name"]) + "Notification"
            if cls not in self.schemas:
                self.schemas[cls] = note.get("params", {})
            self.notification_classes[note["name"]] = cls
        methods = [self.method(m) for m in sorted(self.doc["methods"], key=lambda m: m["name"])]
        implementers = set(self.notification_classes.values())
        models = []
        for name in sorted(self.schemas):
            schema = self.schemas[name]
            if "enum" in schema:
                self.enum(name, schema["enum"])
            else:
                models.append(self.data_class(name, schema, []))  # registers inline enums and unions
        models = []
        for name in sorted(self.schemas):
            schema = self.schemas[name]
            if "enum" not in schema:
                supers = ["Notification"] if name in implementers else []
                supers += sorted(u for u, members in self.unions.items() if name in members)
                models.append(self.data_class(name, schema, supers))
        for name in sorted(self.unions):
            if name in self.schemas or name in self.enums:
                raise ValueError(f"union {name} clashes with a schema of that name")
        models += [self.union_interface(n, m) for n, m in sorted(self.unions.items())]
        for name in sorted(self.enums):
            if name in self.schemas and "enum" not in self.schemas[name]:
                raise ValueError(f"enum {name} clashes with a schema of that name")
        models += [self.enum_class(n, v) for n, v in sorted(self.enums.items())]
        models += [self.classes[n] for n in sorted(self.classes)]
        version = self.doc.get("info", {}).get("version", "?")
        header = (
            f"// Generated by clients/android/codegen.py from the OpenRPC document (API {version}).\n"
            "// Do not edit: tests/unit/test_kotlin_client_codegen.py fails when this file is stale.\n"
            '@file:Suppress("ktlint", "RedundantVisibilityModifier", "unused")\n\n'
            f"package {PACKAGE}\n\n"
        )
        model_imports = (
            "import kotlinx.serialization.SerialName\nimport kotlinx.serialization.Serializable\n"
            "import kotlinx.serialization.json.JsonElement\nimport kotlinx.serialization.json.JsonObject\n"
            "import kotlinx.serialization.json.JsonPrimitive\n\n"
        )
        method_imports = (
            "import kotlinx.serialization.builtins.ListSerializer\n"
            "import kotlinx.serialization.builtins.MapSerializer\n"
            "import kotlinx.serialization.builtins.nullable\n"
            "import kotlinx.serialization.builtins.serializer\n"
            "import kotlinx.serialization.json.JsonElement\nimport kotlinx.serialization.json.JsonObject\n"
            "import kotlinx.serialization.json.JsonPrimitive\n\n"
        )
        notes = "".join(
            f'        "{n}" to {c}.serializer(),\n' for n, c in sorted(self.notification_classes.items())
        )
        notifications = (
            "import kotlinx.serialization.KSerializer\n\n"
            "/** Notification method -> the class its params decode to (see [decodeNotification]). */\n"
            "internal val generatedNotificationSerializers: Map<String, KSerializer<out Notification>> =\n"
            "    mapOf(\n"
            f"{notes}    )\n"
        )
        return {
            "GeneratedModels.kt": header + model_imports + "\n".join(models),
            "GeneratedMethods.kt": header + method_imports + "\n".join(methods),
            "GeneratedNotifications.kt": header + notifications,
        }


def generate(doc: dict[str, Any]) -> dict[str, str]:
    """File name -> Kotlin source, for a (parsed) OpenRPC document."""
    return Generator(json.loads(json.dumps(doc))).generate()


def service_document() -> dict[str, Any]:
    """The OpenRPC document of this checkout's service (what `camera-service openrpc` prints)."""
    from camera_service.rpc.catalog import build_registry
    from camera_service.rpc.openrpc import openrpc_document

    return openrpc_document(build_registry())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed files are stale")
    parser.add_argument(
        "--from", dest="source", type=Path, help="an OpenRPC JSON file instead of this checkout"
    )
    args = parser.parse_args(argv)
    doc = json.loads(args.source.read_text()) if args.source else service_document()
    files = generate(doc)
    stale = [
        n for n, text in files.items() if not (OUT_DIR / n).exists() or (OUT_DIR / n).read_text() != text
    ]
    if args.check:
        for name in stale:
            print(f"stale: {OUT_DIR / name} (run: python clients/android/codegen.py)", file=sys.stderr)
        return 1 if stale else 0
    for name in stale:
        (OUT_DIR / name).write_text(files[name])
        print(f"wrote {OUT_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main())
