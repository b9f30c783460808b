"""The Helm chart as tests see it: rendered offline by Helm's own Go library (helm-python-sdk).

``render`` validates the values against ``values.schema.json`` exactly as ``helm install``
does, and returns the objects, NOTES.txt and the bridge's settings file. ``MINIMAL`` is the
least a release needs; tests layer their values over it with ``merged``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "helm" / "adcbridge"
EXAMPLES = ROOT / "helm" / "examples"
CONFIG_FILE = "adcbridge.yaml"
SIDECAR_MARKER = "# adcbridge-sidecar.yaml\n"
CANARY_PASSWORD = "canary-Pa55-8c1f"

Obj = dict[str, Any]
MINIMAL: Obj = {
    "adc": {"url": "https://adc.example.net:8443", "credentials": {"username": "bridge", "password": CANARY_PASSWORD}},
    "vip": {"addresses": ["192.0.2.10"]},
}


@dataclass(frozen=True)
class Rendered:
    objects: list[Obj]
    notes: str

    def of_kind(self, kind: str) -> list[Obj]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def one(self, kind: str) -> Obj:
        found = self.of_kind(kind)
        assert len(found) == 1, f"expected one {kind}, rendered {len(found)}"
        return found[0]

    def settings_text(self) -> str:
        """The bridge's settings file, as the ConfigMap carries it."""
        (config_map,) = [obj for obj in self.of_kind("ConfigMap") if CONFIG_FILE in obj["data"]]
        return str(config_map["data"][CONFIG_FILE])

    def settings(self) -> Obj:
        loaded: Obj = yaml.safe_load(self.settings_text())
        return loaded

    def container(self) -> Obj:
        """The adcbridge container: the Deployment's, or in sidecar mode the one NOTES.txt prints."""
        deployments = self.of_kind("Deployment")
        if deployments:
            containers = deployments[0]["spec"]["template"]["spec"]["containers"]
        else:
            containers = self.sidecar_values()["controller"]["extraContainers"]
        (container,) = containers
        result: Obj = container
        return result

    def volumes(self) -> list[Obj]:
        deployments = self.of_kind("Deployment")
        if deployments:
            found: list[Obj] = deployments[0]["spec"]["template"]["spec"]["volumes"]
            return found
        listed: list[Obj] = self.sidecar_values()["controller"]["volumes"]
        return listed

    def sidecar_values(self) -> Obj:
        """The KIC chart's values block printed by NOTES.txt in sidecar mode."""
        assert SIDECAR_MARKER in self.notes, "NOTES.txt has no sidecar block"
        block: Obj = yaml.safe_load(self.notes.split(SIDECAR_MARKER, 1)[1])
        return block


def render(values: Obj, *, release: str = "edge", namespace: str = "adc") -> Rendered:
    """Render like ``helm template``; raises ``helm_python.HelmValuesError`` for values the schema refuses."""
    with helm.Chart.load(CHART) as chart:
        files = chart.render(values, name=release, namespace=namespace, is_install=True)
    objects = [
        obj for name, text in sorted(files.items()) if name.endswith(".yaml") for obj in yaml.safe_load_all(text) if obj
    ]
    notes = next((text for name, text in files.items() if name.endswith("NOTES.txt")), "")
    return Rendered(objects, notes)


def merged(*layers: Obj) -> Obj:
    """Values layered like repeated ``-f``: maps merge key by key, anything else is replaced."""
    result: Obj = {}
    for layer in layers:
        _merge_into(result, copy.deepcopy(layer))
    return result


def _merge_into(target: Obj, layer: Obj) -> None:
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = value


def example(name: str) -> Obj:
    loaded: Obj = yaml.safe_load((EXAMPLES / name).read_text())
    return loaded
