"""Static checks of the Helm chart in helm/kawasan.

Helm is not available where these tests run, so the chart is checked without it:

* Chart.yaml and values.yaml are parsed; values.yaml is validated against values.schema.json (draft-07),
  and a set of bad values must be rejected.
* Every template is turned into plain YAML by a small neutraliser: named templates from _helpers.tpl that
  are included on a line of their own are expanded in place (so the shared env, labels and pod spec are
  checked where they are used), lines holding only template actions (if/range/with/end/toYaml ...) are
  dropped, and every remaining ``{{ ... }}`` becomes a placeholder scalar ``__tplN__`` whose original
  expression is remembered, so tests can assert which value a field is rendered from.

The assertions then check real properties of the manifests (hook annotations, probes, Secret-backed env,
per-queue workers, relay strategy, labels), so a broken chart makes them fail.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

CHART = Path(__file__).resolve().parents[1] / "helm" / "kawasan"
TEMPLATES = CHART / "templates"

RECOMMENDED_LABELS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/component",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
}
WORKLOAD_KINDS = {"Deployment", "Job", "CronJob"}

# --------------------------------------------------------------------------------------------------
# Go-template neutraliser
# --------------------------------------------------------------------------------------------------

ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.S)
COMMENT = re.compile(r"\{\{-?\s*/\*.*?\*/\s*-?\}\}", re.S)
STANDALONE_INCLUDE = re.compile(
    r"^(?P<indent>[ ]*)\{\{-?\s*include\s+\"(?P<name>[^\"]+)\"\s*(?P<arg>[^{}|]*?)\s*"
    r"(?:\|\s*nindent\s+(?P<n>\d+))?\s*-?\}\}\s*$"
)
DICT_ARG = re.compile(r"^\(dict\s+(?P<pairs>.*)\)$")
DICT_PAIR = re.compile(r'"(?P<key>[^"]+)"\s+(?P<value>"[^"]*"|\S+)')
PLACEHOLDER = re.compile(r"__tpl(\d+)__")
VALUES_REF = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
BLOCK_OPENERS = {"if", "range", "with", "define", "block"}


def _keyword(action_inner: str) -> str:
    words = action_inner.strip().split(None, 1)
    return words[0] if words else ""


def strip_comments(text: str) -> str:
    return COMMENT.sub("", text)


def parse_defines(helpers_text: str) -> dict[str, str]:
    """Named templates of a helpers file: name -> body (raw template text)."""
    text = strip_comments(helpers_text)
    defines: dict[str, str] = {}
    actions = list(ACTION.finditer(text))
    i = 0
    while i < len(actions):
        m = actions[i]
        inner = m.group(1).strip()
        if _keyword(inner) == "define":
            name = re.match(r'define\s+"([^"]+)"', inner).group(1)
            depth = 1
            j = i + 1
            while j < len(actions) and depth:
                kw = _keyword(actions[j].group(1))
                if kw in BLOCK_OPENERS:
                    depth += 1
                elif kw == "end":
                    depth -= 1
                j += 1
            assert depth == 0, f"unterminated define {name!r}"
            body = text[m.end() : actions[j - 1].start()]
            defines[name] = textwrap.dedent(body.strip("\n"))
            i = j
        else:
            i += 1
    return defines


def dict_bindings(arg: str, inherited: dict[str, str]) -> dict[str, str]:
    """Bindings for the argument of an include: `(dict "component" "web" "worker" $name)` binds
    .component to the literal `web` and .worker to the expression `$name`; `.` passes the caller's on."""
    arg = arg.strip()
    if arg == ".":
        return inherited
    m = DICT_ARG.match(arg)
    if not m:
        return {}
    return {
        pair.group("key"): pair.group("value")[1:-1]
        if pair.group("value").startswith('"')
        else "{{ " + pair.group("value") + " }}"
        for pair in DICT_PAIR.finditer(m.group("pairs"))
    }


def apply_bindings(body: str, bindings: dict[str, str]) -> str:
    for key, replacement in bindings.items():
        body = re.sub(r"\{\{-?\s*\." + re.escape(key) + r"\s*-?\}\}", lambda _m, r=replacement: r, body)
    return body


def expand_includes(
    text: str, defines: dict[str, str], depth: int = 0, bindings: dict[str, str] | None = None
) -> str:
    """Replace `{{ include "x" ... | nindent N }}` lines by the body of "x", indented like Helm would."""
    assert depth < 10, "include recursion too deep"
    out: list[str] = []
    for line in text.splitlines():
        m = STANDALONE_INCLUDE.match(line)
        if m and m.group("name") in defines:
            indent = int(m.group("n")) if m.group("n") else len(m.group("indent"))
            inner = dict_bindings(m.group("arg"), bindings or {})
            body = apply_bindings(defines[m.group("name")], inner)
            body = expand_includes(body, defines, depth + 1, inner)
            out.extend(textwrap.indent(body, " " * indent).splitlines())
        else:
            out.append(line)
    return "\n".join(out)


@dataclass
class Neutralised:
    text: str
    exprs: dict[int, str] = field(default_factory=dict)

    def exprs_in(self, scalar: Any) -> list[str]:
        """Template expressions a rendered scalar came from (empty for literal values)."""
        if not isinstance(scalar, str):
            return []
        return [self.exprs[int(n)] for n in PLACEHOLDER.findall(scalar)]


def neutralise(template_text: str, defines: dict[str, str]) -> Neutralised:
    text = expand_includes(strip_comments(template_text), defines)
    kept = []
    for line in text.splitlines():
        if ACTION.search(line) and not ACTION.sub("", line).strip():
            continue  # only control actions / toYaml / whitespace-trimmed includes on this line
        kept.append(line)
    exprs: dict[int, str] = {}

    def _placeholder(m: re.Match[str]) -> str:
        n = len(exprs)
        exprs[n] = m.group(1).strip()
        return f"__tpl{n}__"

    return Neutralised(ACTION.sub(_placeholder, "\n".join(kept)), exprs)


# --------------------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------------------


@functools.cache
def chart() -> dict[str, Any]:
    return yaml.safe_load((CHART / "Chart.yaml").read_text())


@functools.cache
def values() -> dict[str, Any]:
    return yaml.safe_load((CHART / "values.yaml").read_text())


@functools.cache
def schema() -> dict[str, Any]:
    return json.loads((CHART / "values.schema.json").read_text())


@functools.cache
def defines() -> dict[str, str]:
    return parse_defines((TEMPLATES / "_helpers.tpl").read_text())


def template_files() -> list[Path]:
    return sorted(p for p in TEMPLATES.iterdir() if p.suffix in {".yaml", ".yml"})


@dataclass
class Template:
    path: Path
    raw: str
    neutral: Neutralised
    docs: list[dict[str, Any]]


@functools.cache
def template(name: str) -> Template:
    path = TEMPLATES / name
    raw = path.read_text()
    neutral = neutralise(raw, defines())
    docs = [d for d in yaml.safe_load_all(neutral.text) if d is not None]
    return Template(path, raw, neutral, docs)


def all_templates() -> list[Template]:
    return [template(p.name) for p in template_files()]


def only_doc(name: str, kind: str) -> tuple[Template, dict[str, Any]]:
    t = template(name)
    docs = [d for d in t.docs if d.get("kind") == kind]
    assert len(docs) == 1, f"{name}: expected one {kind}, found {[d.get('kind') for d in t.docs]}"
    return t, docs[0]


def pod_template(doc: dict[str, Any]) -> dict[str, Any]:
    """The pod template of a workload (a CronJob's sits inside its job template)."""
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]
    return doc["spec"]["template"]


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_template(doc)["spec"]
    return list(spec.get("containers") or []) + list(spec.get("initContainers") or [])


def env_by_name(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env") or []}


def workloads() -> list[tuple[Template, dict[str, Any]]]:
    return [(t, d) for t in all_templates() for d in t.docs if d.get("kind") in WORKLOAD_KINDS]


# --------------------------------------------------------------------------------------------------
# Chart.yaml / values.yaml / values.schema.json
# --------------------------------------------------------------------------------------------------


def test_chart_metadata():
    c = chart()
    assert c["apiVersion"] == "v2"
    assert c["name"] == "kawasan"
    assert c["version"] == "0.1.0"
    assert c["appVersion"] == "0.1.0" and isinstance(c["appVersion"], str)
    assert c.get("type", "application") == "application"


def test_expected_files_exist():
    for rel in ("values.yaml", "values.schema.json", "templates/_helpers.tpl", "templates/NOTES.txt"):
        assert (CHART / rel).is_file(), rel
    assert (CHART.parent / "README.md").is_file()


def test_schema_is_draft7_and_values_validate():
    s = schema()
    assert s["$schema"] == "http://json-schema.org/draft-07/schema#"
    Draft7Validator.check_schema(s)
    errors = sorted(Draft7Validator(s).iter_errors(values()), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/definitions/"), ref
        node = schema()["definitions"][ref.rsplit("/", 1)[1]]
    return node


def test_schema_describes_values_and_closes_main_objects():
    s = schema()
    assert s["additionalProperties"] is False
    # Every top-level key of values.yaml is described, and the schema describes nothing values.yaml lacks
    # (apart from Helm's own `global`).
    assert set(s["properties"]) - {"global"} == set(values())
    for key in (
        "image",
        "serviceAccount",
        "database",
        "redis",
        "secretKey",
        "web",
        "service",
        "ingress",
        "worker",
        "relay",
        "migrations",
    ):
        node = _resolve(s["properties"][key])
        assert node.get("additionalProperties") is False, key
        # and each of these objects' default keys are all declared
        assert set(values()[key]) <= set(node["properties"]), key
    for key in ("database", "redis", "secretKey"):
        existing = _resolve(s["properties"][key]["properties"]["existingSecret"])
        assert existing["additionalProperties"] is False
        assert set(existing["required"]) == {"name", "key"}
    worker = _resolve(s["properties"]["workers"]["additionalProperties"])
    assert worker["additionalProperties"] is False
    assert "queues" in worker["required"]


def _set(d: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        d = d[key]
    d[path[-1]] = value


def _delete(d: dict[str, Any], path: tuple[str, ...]) -> None:
    for key in path[:-1]:
        d = d[key]
    del d[path[-1]]


BAD_VALUES = [
    # (id, mutation, path the error must be reported at)
    ("web replicas as text", lambda v: _set(v, ("web", "replicas"), "two"), ("web", "replicas")),
    (
        "worker replicas as text",
        lambda v: _set(v, ("workers", "default", "replicas"), "two"),
        ("workers", "default", "replicas"),
    ),
    ("unknown top-level key", lambda v: _set(v, ("webb",), {"replicas": 2}), ()),
    ("unknown key inside web", lambda v: _set(v, ("web", "replica"), 3), ("web",)),
    (
        "database secret without name",
        lambda v: _delete(v, ("database", "existingSecret", "name")),
        ("database", "existingSecret"),
    ),
    (
        "redis secret with empty name",
        lambda v: _set(v, ("redis", "existingSecret", "name"), ""),
        ("redis", "existingSecret", "name"),
    ),
    (
        "secret key without existingSecret",
        lambda v: _delete(v, ("secretKey", "existingSecret")),
        ("secretKey",),
    ),
    (
        "worker without queues",
        lambda v: _set(v, ("workers", "default", "queues"), []),
        ("workers", "default", "queues"),
    ),
    (
        "worker name not a DNS label",
        lambda v: _set(v, ("workers", "Bad_Name"), {"queues": ["x"], "replicas": 1}),
        ("workers",),
    ),
    (
        "worker with unknown key",
        lambda v: _set(v, ("workers", "tenants", "queue"), "tenants"),
        ("workers", "tenants"),
    ),
    (
        "runAsNonRoot false",
        lambda v: _set(v, ("podSecurityContext", "runAsNonRoot"), False),
        ("podSecurityContext", "runAsNonRoot"),
    ),
    ("bad pull policy", lambda v: _set(v, ("image", "pullPolicy"), "Sometimes"), ("image", "pullPolicy")),
    (
        "grace period as text",
        lambda v: _set(v, ("worker", "terminationGracePeriodSeconds"), "200s"),
        ("worker", "terminationGracePeriodSeconds"),
    ),
    ("zero migration jobs", lambda v: _set(v, ("migrations", "jobs"), 0), ("migrations", "jobs")),
    (
        "bad memory quantity",
        lambda v: _set(v, ("web", "resources", "limits", "memory"), "lots"),
        ("web", "resources", "limits", "memory"),
    ),
    ("service type typo", lambda v: _set(v, ("service", "type"), "Clusterip"), ("service", "type")),
    ("map tiles without a scheme", lambda v: _set(v, ("config", "mapTiles"), "tile.example/{z}/{x}/{y}.png"),
     ("config", "mapTiles")),
    ("smtp port as words", lambda v: _set(v, ("config", "smtpPort"), "twenty-five"), ("config", "smtpPort")),
    ("unknown config key", lambda v: _set(v, ("config", "mapTile"), "https://x/{z}/{x}/{y}.png"), ("config",)),
    (
        "extraEnv overriding DATABASE_URL",
        lambda v: _set(v, ("extraEnv",), [{"name": "DATABASE_URL", "value": "x"}]),
        ("extraEnv", 0, "name"),
    ),
]


@pytest.mark.parametrize(("mutate", "path"), [pytest.param(m, p, id=i) for i, m, p in BAD_VALUES])
def test_schema_rejects_bad_values(mutate, path):
    bad = copy.deepcopy(values())
    mutate(bad)
    errors = list(Draft7Validator(schema()).iter_errors(bad))
    assert errors, "schema accepted invalid values"
    paths = {tuple(e.absolute_path) for e in errors}
    assert path in paths, f"expected an error at {path}, got {paths}"


def test_schema_accepts_realistic_overrides():
    good = copy.deepcopy(values())
    good["image"].update(repository="registry.example.com/kawasan", tag="0.1.0")
    good["imagePullSecrets"] = [{"name": "regcred"}]
    good["workers"]["reports"] = {
        "queues": ["reports", "exports"],
        "replicas": 2,
        "resources": {"requests": {"cpu": 0.5, "memory": "1Gi"}},
        "terminationGracePeriodSeconds": 400,
    }
    good["ingress"].update(
        enabled=True,
        className="nginx",
        tls=[{"secretName": "kawasan-tls", "hosts": ["kawasan.example.com"]}],
    )
    good["database"]["existingSecret"] = {"name": "pg-app", "key": "uri"}
    good["extraEnv"] = [{"name": "KAWASAN_LOG_LEVEL", "value": "INFO"}]
    good["config"].update(publicUrl="https://kawasan.bungokab.go.id", smtpHost="smtp.internal", smtpPort=587,
                          mapTiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                          mapTilesAttribution="&copy; OpenStreetMap contributors", relayPollInterval=2.5)
    good["tolerations"] = [
        {"key": "dedicated", "operator": "Equal", "value": "kawasan", "effect": "NoSchedule"}
    ]
    good["global"] = {"imageRegistry": "x"}
    errors = list(Draft7Validator(schema()).iter_errors(good))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_value_defaults():
    v = values()
    assert v["workers"]["default"]["queues"] == ["default"]
    assert v["workers"]["tenants"]["queues"] == ["tenants"]
    # longer than the RQ job timeout (180 s), so a rollout lets the running job finish
    assert v["worker"]["terminationGracePeriodSeconds"] == 200
    assert v["worker"]["terminationGracePeriodSeconds"] > 180
    assert v["database"]["existingSecret"]["key"] == "DATABASE_URL"
    assert v["redis"]["existingSecret"]["key"] == "REDIS_URL"
    assert v["secretKey"]["existingSecret"]["key"] == "KAWASAN_SECRET_KEY"
    assert v["podSecurityContext"]["runAsNonRoot"] is True
    assert v["ingress"]["enabled"] is False
    assert v["web"]["port"] == 8000
    assert isinstance(v["migrations"]["jobs"], int)


# --------------------------------------------------------------------------------------------------
# Template-level structure
# --------------------------------------------------------------------------------------------------


def test_neutraliser_handles_includes_and_actions():
    defs = {
        "x.env": "- name: A\n  value: {{ .Values.a | quote }}\n"
        "{{- with .Values.more }}\n{{ toYaml . }}\n{{- end }}",
        "x.label": "c: {{ .component }}",
    }
    src = (
        'env:\n  {{- include "x.env" . | nindent 2 }}\n'
        "{{- if .Values.on }}\nk: {{ .Values.k }}-x\n{{- end }}\n"
        'labels:\n  {{- include "x.label" (dict "ctx" $ "component" "web") | nindent 2 }}\n'
    )
    n = neutralise(src, defs)
    doc = yaml.safe_load(n.text)
    assert doc["env"][0]["name"] == "A"
    assert n.exprs_in(doc["env"][0]["value"]) == [".Values.a | quote"]
    assert n.exprs_in(doc["k"]) == [".Values.k"] and doc["k"].endswith("-x")
    assert doc["labels"] == {"c": "web"}


def test_expected_templates_present():
    names = {p.name for p in template_files()}
    assert {
        "web-deployment.yaml",
        "web-service.yaml",
        "worker-deployment.yaml",
        "relay-deployment.yaml",
        "migration-job.yaml",
        "rekap-cronjob.yaml",
        "ingress.yaml",
    } <= names


@pytest.mark.parametrize(
    "path", template_files() + [TEMPLATES / "_helpers.tpl", TEMPLATES / "NOTES.txt"], ids=lambda p: p.name
)
def test_template_blocks_balanced_and_includes_defined(path):
    text = strip_comments(path.read_text())
    kws = [_keyword(m.group(1)) for m in ACTION.finditer(text)]
    opened = sum(k in BLOCK_OPENERS for k in kws)
    assert opened == kws.count("end"), f"{path.name}: {opened} blocks opened, {kws.count('end')} closed"
    for name in re.findall(r'include\s+"([^"]+)"', text):
        assert name in defines(), f"{path.name} includes undefined template {name!r}"


def _walk_values(path: str) -> bool:
    node: Any = values()
    for key in path.strip(".").split("."):
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


@pytest.mark.parametrize(
    "path", template_files() + [TEMPLATES / "_helpers.tpl", TEMPLATES / "NOTES.txt"], ids=lambda p: p.name
)
def test_every_values_reference_exists(path):
    refs = {m.group(1) for m in VALUES_REF.finditer(path.read_text())}
    missing = sorted(r for r in refs if not _walk_values(r))
    assert not missing, f"{path.name} reads values that values.yaml does not define: {missing}"


def test_templates_parse_as_kubernetes_objects():
    seen = 0
    for t in all_templates():
        assert t.docs, f"{t.path.name} produced no document"
        for doc in t.docs:
            assert doc.get("apiVersion") and doc.get("kind"), t.path.name
            assert doc["metadata"]["name"], t.path.name
            assert "namespace" not in doc["metadata"], f"{t.path.name} hard-codes a namespace"
            seen += 1
    assert seen >= 6


def test_chart_creates_no_secret_or_configmap():
    # the pre-install migration hook can only use objects that exist before the release does
    kinds = {d["kind"] for t in all_templates() for d in t.docs}
    assert not kinds & {"Secret", "ConfigMap", "ServiceAccount"}, kinds


def test_recommended_labels_on_every_object_and_pod():
    for t in all_templates():
        for doc in t.docs:
            labels = doc["metadata"].get("labels") or {}
            assert set(labels) >= RECOMMENDED_LABELS, f"{t.path.name} {doc['kind']}: {sorted(labels)}"
            managed = t.neutral.exprs_in(labels["app.kubernetes.io/managed-by"])
            assert managed and "Release.Service" in managed[0]
            if doc["kind"] in WORKLOAD_KINDS:
                pod_labels = pod_template(doc)["metadata"]["labels"]
                assert set(pod_labels) >= RECOMMENDED_LABELS, t.path.name
            if doc["kind"] == "Deployment":
                selector = doc["spec"]["selector"]["matchLabels"]
                assert set(selector) >= {
                    "app.kubernetes.io/name",
                    "app.kubernetes.io/instance",
                    "app.kubernetes.io/component",
                }
                # selectors must be a subset of the pod labels, or the Deployment is rejected
                assert set(selector) <= set(doc["spec"]["template"]["metadata"]["labels"])


def test_components_are_distinct():
    components = {}
    for t in all_templates():
        for doc in t.docs:
            if doc["kind"] in WORKLOAD_KINDS:
                components[t.path.name] = doc["metadata"]["labels"]["app.kubernetes.io/component"]
    assert components == {
        "web-deployment.yaml": "web",
        "worker-deployment.yaml": "worker",
        "relay-deployment.yaml": "relay",
        "migration-job.yaml": "migrations",
        "rekap-cronjob.yaml": "rekap",
    }


# --------------------------------------------------------------------------------------------------
# Component properties
# --------------------------------------------------------------------------------------------------


def test_migration_job_is_pre_install_pre_upgrade_hook():
    t, job = only_doc("migration-job.yaml", "Job")
    ann = job["metadata"]["annotations"]
    assert ann["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert ann["helm.sh/hook-weight"] == "-5"
    assert ann["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    spec = job["spec"]
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert t.neutral.exprs_in(spec["backoffLimit"]) == [".Values.migrations.backoffLimit"]
    assert t.neutral.exprs_in(spec["activeDeadlineSeconds"]) == [".Values.migrations.activeDeadlineSeconds"]
    (container,) = spec["template"]["spec"]["containers"]
    cmd = container["command"]
    assert cmd[:4] == ["kawasan", "db", "upgrade", "--jobs"]
    assert ".Values.migrations.jobs" in t.neutral.exprs_in(cmd[4])[0]
    # the hook must explain why it depends on existing Secrets only
    assert "existing" in t.raw.lower() and "pre-install" in t.raw


def test_rollups_are_rebuilt_daily_in_the_kabupatens_time_zone_never_twice_at_once():
    t, cron = only_doc("rekap-cronjob.yaml", "CronJob")
    assert t.raw.lstrip().startswith("{{- if .Values.rekap.enabled }}")
    spec = cron["spec"]
    assert t.neutral.exprs_in(spec["schedule"]) == [".Values.rekap.schedule | quote"]
    assert t.neutral.exprs_in(spec["timeZone"]) == [".Values.rekap.timeZone | quote"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert pod_template(cron)["spec"]["restartPolicy"] == "Never"
    (container,) = containers(cron)
    assert container["command"][:4] == ["kawasan", "stats", "rebuild", "--jobs"]
    rekap = values()["rekap"]
    assert (rekap["enabled"], rekap["schedule"], rekap["timeZone"]) == (True, "30 0 * * *", "Asia/Jakarta")
    bad = copy.deepcopy(values())
    bad["rekap"]["timeZone"] = "UTC+7"
    assert list(Draft7Validator(schema()).iter_errors(bad))


def test_web_deployment_serves_on_http_8000_with_probes():
    t, dep = only_doc("web-deployment.yaml", "Deployment")
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    cmd = container["command"]
    assert cmd[:5] == ["kawasan", "serve", "--host", "0.0.0.0", "--port"]
    assert ".Values.web.port" in t.neutral.exprs_in(cmd[5])[0]
    (port,) = container["ports"]
    assert port["name"] == "http"
    assert t.neutral.exprs_in(port["containerPort"]) == [".Values.web.port"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert t.neutral.exprs_in(dep["spec"]["replicas"]) == [".Values.web.replicas"]


def test_web_service_targets_http_port_of_web_pods():
    t, svc = only_doc("web-service.yaml", "Service")
    (port,) = svc["spec"]["ports"]
    assert port["targetPort"] == "http"
    assert t.neutral.exprs_in(port["port"]) == [".Values.service.port"]
    assert t.neutral.exprs_in(svc["spec"]["type"]) == [".Values.service.type"]
    assert svc["spec"]["selector"]["app.kubernetes.io/component"] == "web"


def test_ingress_is_optional_and_points_at_web_service():
    t, ing = only_doc("ingress.yaml", "Ingress")
    first_action = ACTION.search(strip_comments(t.raw)).group(1).strip()
    assert first_action == "if .Values.ingress.enabled"
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["port"] == {"name": "http"}
    assert backend["name"].endswith("-web")


def test_every_container_reads_urls_from_existing_secrets():
    found = 0
    for t, doc in workloads():
        for container in containers(doc):
            found += 1
            env = env_by_name(container)
            where = f"{t.path.name}:{container['name']}"
            for var, value_key in (
                ("DATABASE_URL", "database"),
                ("REDIS_URL", "redis"),
                ("KAWASAN_SECRET_KEY", "secretKey"),
            ):
                assert var in env, f"{where} lacks {var}"
                assert "value" not in env[var], f"{where}: {var} must not be a literal"
                ref = env[var]["valueFrom"]["secretKeyRef"]
                assert f".Values.{value_key}.existingSecret.name" in t.neutral.exprs_in(ref["name"])[0], where
                assert f".Values.{value_key}.existingSecret.key" in t.neutral.exprs_in(ref["key"])[0], where
            assert env["KAWASAN_ENV"]["value"] == "production", where
    assert found >= 4  # web, worker, relay, migrate


def test_pods_share_security_context_and_tmp_volume():
    for t, doc in workloads():
        pod = pod_template(doc)["spec"]
        assert "securityContext" in pod, t.path.name
        assert {"name": "tmp", "emptyDir": {}} in pod["volumes"], t.path.name
        for container in containers(doc):
            assert "securityContext" in container, t.path.name
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], t.path.name
            assert "resources" in container, t.path.name
            image = t.neutral.exprs_in(container["image"])
            assert image and "kawasan.image" in image[0], t.path.name
    assert "toYaml .Values.podSecurityContext" in defines()["kawasan.podCommon"]


def test_worker_deployment_ranges_over_values_workers():
    t, dep = only_doc("worker-deployment.yaml", "Deployment")
    loop = re.search(r"\{\{-?\s*range\s+\$name,\s*\$worker\s*:=\s*\.Values\.workers\s*-?\}\}", t.raw)
    assert loop
    # one document per worker: the "---" separator is the first thing inside the range
    assert t.raw[loop.end() :].lstrip("\n").startswith("---\n")
    assert any("$name" in e for e in t.neutral.exprs_in(dep["metadata"]["name"]))
    selector = dep["spec"]["selector"]["matchLabels"]
    assert t.neutral.exprs_in(selector["kawasan.io/worker"]) == ["$name"]
    assert selector["app.kubernetes.io/component"] == "worker"
    assert t.neutral.exprs_in(dep["spec"]["replicas"]) == ["$worker.replicas"]
    grace = t.neutral.exprs_in(dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"])[0]
    assert "$worker.terminationGracePeriodSeconds" in grace
    assert "$.Values.worker.terminationGracePeriodSeconds" in grace
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    cmd = container["command"]
    assert cmd[:3] == ["kawasan", "worker", "--queue"]
    queue_loop = r"range\s+\$worker\.queues\s*-?\}\}\s*\n\s*- --queue\s*\n\s*- \{\{ \. \| quote \}\}"
    assert re.search(queue_loop, t.raw)


def test_relay_is_single_replica_recreate():
    t, dep = only_doc("relay-deployment.yaml", "Deployment")
    assert dep["spec"]["replicas"] == 1
    assert dep["spec"]["strategy"] == {"type": "Recreate"}
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    assert container["command"][:2] == ["kawasan", "relay"]


def test_helpers_define_recommended_labels():
    labels_body = expand_includes(defines()["kawasan.labels"], defines())
    keys = {line.split(":", 1)[0].strip() for line in labels_body.splitlines() if ":" in line}
    assert keys >= RECOMMENDED_LABELS


def test_notes_mentions_components_and_secrets():
    notes = (TEMPLATES / "NOTES.txt").read_text()
    for needle in ("-web", "-relay", "-migrate", ".Values.workers", "existingSecret.name"):
        assert needle in notes


# --------------------------------------------------------------------------------------------------
# Settings: every variable service/config.py reads is documented and settable in production
# --------------------------------------------------------------------------------------------------

#: Variables of service/config.py the chart deliberately does not set, and why.
NOT_FOR_THE_CHART = {
    "KAWASAN_DATA_DIR": "embedded PostgreSQL/Redis only; never used once DATABASE_URL and REDIS_URL are set",
    "KAWASAN_MIGRATIONS_DIR": "the migrations ship inside the image",
}


def config_variables() -> set[str]:
    source = (CHART.parents[1] / "service" / "config.py").read_text()
    return set(re.findall(r"env(?:\.get\(|\[)\"([A-Z][A-Z0-9_]+)\"", source))


def test_every_setting_is_in_the_readme_and_the_chart():
    variables = config_variables()
    assert {"DATABASE_URL", "KAWASAN_MAP_TILES", "KAWASAN_MAP_TILES_ATTRIBUTION"} <= variables  # the parse works
    readme = (CHART.parents[1] / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    missing = sorted(v for v in variables if f"| `{v}` |" not in table)
    assert not missing, f"README's configuration table lacks {missing}"
    for t, doc in workloads():
        for container in containers(doc):
            env = env_by_name(container)
            unset = sorted(variables - env.keys() - NOT_FOR_THE_CHART.keys())
            assert not unset, f"{t.path.name}:{container['name']} cannot set {unset}"


def test_config_values_become_their_variables_and_default_to_unset():
    by_key = {}
    for t, doc in workloads():
        for container in containers(doc):
            for name, entry in env_by_name(container).items():
                exprs = t.neutral.exprs_in(entry.get("value"))
                if exprs and exprs[0].startswith(".Values.config."):
                    by_key[exprs[0].split()[0].removeprefix(".Values.config.")] = name
    assert by_key["mapTiles"] == "KAWASAN_MAP_TILES"
    assert by_key["mapTilesAttribution"] == "KAWASAN_MAP_TILES_ATTRIBUTION"
    assert set(by_key) == set(values()["config"]), "every config value is rendered, and only those"
    # Empty by default: the variable is left out (each sits in an `if`), so Kawasan's own default applies.
    assert all(v == "" for v in values()["config"].values())
    helpers = (TEMPLATES / "_helpers.tpl").read_text()
    for key in by_key:
        assert f"{{{{- if .Values.config.{key} }}}}" in helpers, key
