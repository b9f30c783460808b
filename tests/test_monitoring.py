"""The dashboard and the alerts an operator installs: they watch what the service really exposes.

A panel or an alert naming a metric the bridge never exposes would show nothing and never fire,
and nothing else would tell. So every metric a PromQL expression names is checked against the
names a ``Metrics()`` registry exposes (a counter's ``_total``, a histogram's ``_bucket``, ``_sum``
and ``_count``), and every label it matches on against the metric's own labels. The dashboard is
checked as Grafana reads it (a uid, a data source variable every panel uses, targets on every
panel); the rules file is checked and its tests (tests/prometheus) are run by promtool, Prometheus's
own tool, which ``make promtool`` fetches: a machine without it fails here rather than skip.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from adcbridge.metrics import Metrics
from tests.helm_chart import CHART, MINIMAL, ROOT, Obj, Rendered, merged, render

DASHBOARD = CHART / "dashboards" / "adcbridge.json"
RULES = CHART / "alerts" / "adcbridge.rules.yaml"
RULE_TESTS = ROOT / "tests" / "prometheus" / "adcbridge.rules.test.yaml"

# The labels Prometheus adds to every series it scrapes, and a histogram's bucket bound.
TARGET_LABELS = {"namespace", "job", "instance", "pod"}
METRIC_NAME = re.compile(r"\badcbridge_[a-z0-9_]+")
SELECTOR = re.compile(r"\b(adcbridge_[a-z0-9_]+)\{([^}]*)\}")
MATCHER_LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


@cache
def exposed() -> dict[str, frozenset[str]]:
    """Every series name a bridge exposes, with the labels of its metric (``le`` for buckets)."""
    names: dict[str, frozenset[str]] = {}
    for metric in vars(Metrics()).values():
        if not isinstance(metric, MetricWrapperBase):
            continue
        kind, base, labels = metric._type, metric._name, frozenset(metric._labelnames)  # no public accessor
        for suffix in SUFFIXES[kind]:
            names[base + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    return names


def problems_in(expr: str) -> list[str]:
    """What in ``expr`` the service does not expose: metrics, and labels matched or grouped on."""
    found = [f"no such metric: {name}" for name in METRIC_NAME.findall(expr) if name not in exposed()]
    named = [name for name in METRIC_NAME.findall(expr) if name in exposed()]
    if not named:
        return [*found, f"names no metric of the bridge: {expr}"]
    for name, matchers in SELECTOR.findall(expr):
        for label in MATCHER_LABEL.findall(matchers):
            if name in exposed() and label not in exposed()[name] | TARGET_LABELS:
                found.append(f"{name} has no label {label!r}")
    known = TARGET_LABELS.union(*(exposed()[name] for name in named))
    for group in GROUPING.findall(expr):
        found += [f"no metric here has the label {label!r}: {expr}" for label in _labels(group) - known]
    return found


def _labels(group: str) -> set[str]:
    return {label.strip() for label in group.split(",") if label.strip()}


def test_the_metric_check_sees_a_wrong_name_a_wrong_label_and_a_wrong_grouping() -> None:
    assert problems_in("sum by (reason) (adcbridge_rejected_hosts)") == []
    assert problems_in("rate(adcbridge_operations_total[5m])") == []
    assert problems_in("rate(adcbridge_operations[5m])")[0] == "no such metric: adcbridge_operations"
    assert problems_in('adcbridge_leader{kind="vs"}') == ["adcbridge_leader has no label 'kind'"]
    assert problems_in("sum by (url) (adcbridge_conflicts)") == [
        "no metric here has the label 'url': sum by (url) (adcbridge_conflicts)"
    ]


# ------------------------------------------------------------------ the dashboard


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel but the rows, including panels inside collapsed rows."""
    found: list[dict[str, Any]] = []
    for panel in board["panels"]:
        found += panel.get("panels", []) if panel["type"] == "row" else [panel]
    return found


def test_the_dashboard_is_a_grafana_dashboard_on_a_prometheus_variable() -> None:
    board = dashboard()
    assert board["uid"] == "adcbridge"
    assert board["title"]
    assert isinstance(board["schemaVersion"], int)
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert (variables["datasource"]["type"], variables["datasource"]["query"]) == ("datasource", "prometheus")
    rows = [panel for panel in board["panels"] if panel["type"] == "row"]
    ids = [panel["id"] for panel in rows + panels(board)]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in panels(board):
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
        for part in (panel, *panel["targets"]):
            assert part["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert len({target["refId"] for target in panel["targets"]}) == len(panel["targets"])


def dashboard_queries() -> list[str]:
    board = dashboard()
    queries = [target["expr"] for panel in panels(board) for target in panel["targets"]]
    queries += [v["query"]["query"] for v in board["templating"]["list"] if v["type"] == "query"]
    return queries


def test_every_metric_a_panel_names_is_one_the_service_exposes() -> None:
    queries = dashboard_queries()
    assert len(queries) >= 20
    assert [problem for query in queries for problem in problems_in(query)] == []


def test_every_metric_the_service_exposes_is_on_the_dashboard() -> None:
    shown = {name for query in dashboard_queries() for name in METRIC_NAME.findall(query)}
    bases = {re.sub(r"_(bucket|sum|count)$", "", name) for name in shown}
    assert {name for name in exposed() if name not in shown and name.removesuffix("_count") not in bases} == set()


# ------------------------------------------------------------------ the alerts


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_every_metric_an_alert_names_is_one_the_service_exposes() -> None:
    assert len(rules()) >= 6
    assert [problem for rule in rules() for problem in problems_in(rule["expr"])] == []


@cache
def promtool() -> str:
    """The promtool ``make promtool`` puts beside the environment's python, or one on PATH."""
    beside = Path(sys.executable).parent / "promtool"
    found = str(beside) if beside.is_file() else shutil.which("promtool")
    assert found, "promtool is missing: `make promtool` takes it from Debian's prometheus package"
    return found


def run_promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_promtool_accepts_the_rules_file() -> None:
    checked = run_promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules())} rules found" in checked.stdout


def test_promtool_runs_the_rule_tests() -> None:
    tested = run_promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    cases: dict[str, set[str]] = {rule["alert"]: set() for rule in rules()}
    for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for case in test.get("alert_rule_test", []):
            cases[case["alertname"]].add("firing" if case["exp_alerts"] else "quiet")
    assert {alert: seen for alert, seen in cases.items() if seen != {"firing", "quiet"}} == {}


def test_promtool_would_see_an_alert_that_never_fires(tmp_path: Path) -> None:
    """The rule tests can fail: the same tests against a copy whose held-back alert can never fire."""
    broken = RULES.read_text().replace("adcbridge_held_back_deletions > 0", "adcbridge_held_back_deletions < 0")
    assert broken != RULES.read_text()
    (tmp_path / RULES.name).write_text(broken)
    tests = yaml.safe_load(RULE_TESTS.read_text())
    tests["rule_files"] = [RULES.name]
    (tmp_path / RULE_TESTS.name).write_text(yaml.safe_dump(tests))
    tested = run_promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert tested.returncode != 0
    assert "AdcbridgeDeletionsHeldBack" in tested.stdout + tested.stderr


@pytest.mark.parametrize("alert", [rule["alert"] for rule in rules()])
def test_each_alert_says_what_to_look_at(alert: str) -> None:
    (rule,) = [rule for rule in rules() if rule["alert"] == alert]
    assert rule["labels"]["severity"] in {"critical", "warning"}
    assert rule["annotations"]["summary"]
    assert rule["annotations"]["description"]
    assert re.fullmatch(r"\d+[smh]", rule["for"])


# ------------------------------------------------------------------ the chart


def dashboard_config_maps(rendered: Rendered) -> list[Obj]:
    return [obj for obj in rendered.of_kind("ConfigMap") if "adcbridge.json" in obj["data"]]


def test_the_chart_renders_neither_the_dashboard_nor_the_rules_unless_asked() -> None:
    rendered = render(MINIMAL)
    assert (dashboard_config_maps(rendered), rendered.of_kind("PrometheusRule")) == ([], [])
    assert len(rendered.of_kind("ConfigMap")) == 1  # the settings


def test_the_dashboard_config_map_carries_the_dashboard_under_the_sidecar_label() -> None:
    (config_map,) = dashboard_config_maps(render(merged(MINIMAL, {"grafanaDashboard": {"enabled": True}})))
    assert json.loads(config_map["data"]["adcbridge.json"]) == dashboard()
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["namespace"] == "adc"  # the release's
    assert "annotations" not in config_map["metadata"]


def test_the_dashboard_label_annotations_and_namespace_are_the_operators_to_choose() -> None:
    chosen = {
        "enabled": True,
        "labels": {"grafana_dashboard": None, "dashboards": "ingress"},
        "annotations": {"grafana_folder": "Ingress"},
        "namespace": "monitoring",
    }
    (config_map,) = dashboard_config_maps(render(merged(MINIMAL, {"grafanaDashboard": chosen})))
    metadata = config_map["metadata"]
    assert metadata["labels"]["dashboards"] == "ingress"
    assert "grafana_dashboard" not in metadata["labels"]
    assert (metadata["annotations"], metadata["namespace"]) == ({"grafana_folder": "Ingress"}, "monitoring")


def rendered_groups(alerts: Obj | None = None) -> list[Obj]:
    values = {"prometheusRule": {"enabled": True, "labels": {"release": "prom"}, "alerts": alerts or {}}}
    rule = render(merged(MINIMAL, values)).one("PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "prom"
    groups: list[Obj] = rule["spec"]["groups"]
    return groups


def test_the_prometheus_rule_is_the_rules_file_as_it_is() -> None:
    assert rendered_groups() == yaml.safe_load(RULES.read_text())["groups"]


def test_tuning_an_alert_changes_that_and_nothing_else(tmp_path: Path) -> None:
    tuned = {
        "AdcbridgeNoSuccessfulCycle": {"threshold": 1800, "for": "10m"},
        "AdcbridgeConflictsStanding": {"severity": "info", "for": "2h"},
        "AdcbridgeDnsServersNotAnswering": {"enabled": False},
    }
    groups = rendered_groups(tuned)
    got = {rule["alert"]: rule for group in groups for rule in group["rules"]}
    want = {rule["alert"]: rule for rule in rules() if rule["alert"] != "AdcbridgeDnsServersNotAnswering"}
    cycle, conflicts = want["AdcbridgeNoSuccessfulCycle"], want["AdcbridgeConflictsStanding"]
    assert cycle["expr"].endswith(" > 900")
    cycle["expr"] = cycle["expr"].removesuffix(" > 900") + " > 1800"
    cycle["for"] = "10m"
    conflicts["labels"]["severity"], conflicts["for"] = "info", "2h"
    assert got == want
    (tmp_path / "tuned.yaml").write_text(yaml.safe_dump({"groups": groups}))
    checked = run_promtool("check", "rules", str(tmp_path / "tuned.yaml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_values_schema_names_exactly_the_alerts_of_the_rules_file() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    tunable = schema["properties"]["prometheusRule"]["properties"]["alerts"]["properties"]
    assert sorted(tunable) == sorted(rule["alert"] for rule in rules())
