"""The manifest (`model.json`) of one model version, parsed and checked once at load."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webapp.serving.errors import InvalidInput
from webapp.serving.models.quantize_plan import QuantizePlan, parse_accelerate

FRAMEWORKS = {"keras": (".keras",), "sklearn": (".skops", ".joblib", ".pkl")}
TASKS = ("classification", "regression")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
MANIFEST = "model.json"


def check_model_name(name: str) -> str:
    """Return `name` if it is a safe model name (no path separators, no dots first); else raise."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InvalidInput(
            "Model name must be 1-64 characters of letters, digits, '_', '.', '-' "
            "and start with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class Feature:
    name: str
    dtype: str = "float32"
    min: float | None = None
    max: float | None = None
    example: float | None = None


@dataclass(frozen=True)
class ImageInput:
    """How an uploaded image becomes the model's input tensor."""

    height: int
    width: int
    channels: int = 1
    scale: float = 1.0  # pixel / 255 * scale
    invert: str = "never"  # never | always | auto (invert when the background is light)
    fit: str = "stretch"  # stretch | bbox (crop to the ink, pad square, then resize)


@dataclass(frozen=True)
class ModelSpec:
    """Everything the service needs to know about one version, from its manifest."""

    name: str
    version: int
    path: Path
    framework: str
    artifact: str
    task: str
    features: tuple[Feature, ...] = ()
    image: ImageInput | None = None
    labels: tuple[str, ...] = ()
    description: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    training_data: dict[str, Any] = field(default_factory=dict)
    batching: dict[str, Any] = field(default_factory=dict)
    quantize: QuantizePlan | None = None  # the manifest's quantization plan; None: the setting's
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def input_kind(self) -> str:
        return "image" if self.image is not None else "tabular"

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example, without the batch dimension."""
        if self.image is not None:
            return (self.image.height, self.image.width, self.image.channels)
        return (len(self.features),)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def artifact_path(self) -> Path:
        return self.path / self.artifact

    def describe_input(self) -> str:
        if self.image is not None:
            im = self.image
            return f"an image ({im.height}x{im.width}x{im.channels} after preprocessing)"
        names = ", ".join(self.feature_names)
        return f"{len(self.features)} features [{names}]"


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise InvalidInput(f"Invalid manifest: {message}")


def _parse_features(items: Any) -> tuple[Feature, ...]:
    _require(isinstance(items, list) and items, "inputs.features must be a non-empty list")
    feats = []
    for item in items:
        if isinstance(item, str):
            item = {"name": item}
        _require(isinstance(item, dict) and isinstance(item.get("name"), str),
                 "each feature needs a name")
        feats.append(Feature(**{k: item[k] for k in ("name", "dtype", "min", "max", "example")
                                if k in item}))
    names = [f.name for f in feats]
    _require(len(set(names)) == len(names), "feature names must be unique")
    return tuple(feats)


def _parse_image(d: dict[str, Any]) -> ImageInput:
    try:
        image = ImageInput(
            height=int(d["height"]), width=int(d["width"]), channels=int(d.get("channels", 1)),
            scale=float(d.get("scale", 1.0)), invert=str(d.get("invert", "never")),
            fit=str(d.get("fit", "stretch")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"Invalid manifest: image input needs height and width ({exc})") from exc
    _require(0 < image.height <= 4096 and 0 < image.width <= 4096, "image size out of range")
    _require(image.channels in (1, 3), "image channels must be 1 or 3")
    _require(image.invert in ("never", "always", "auto"), "invert must be never, always or auto")
    _require(image.fit in ("stretch", "bbox"), "fit must be stretch or bbox")
    return image


def parse_manifest(data: Any, name: str, version: int, path: Path) -> ModelSpec:
    """Build a ModelSpec from manifest data; raises InvalidInput naming the first problem."""
    _require(isinstance(data, dict), "model.json must hold a JSON object")
    framework = data.get("framework")
    _require(framework in FRAMEWORKS, f"framework must be one of {sorted(FRAMEWORKS)}")
    artifact = data.get("artifact")
    _require(isinstance(artifact, str) and artifact.endswith(FRAMEWORKS[framework])
             and "/" not in artifact and "\\" not in artifact and not artifact.startswith("."),
             f"artifact must be a file name ending in {FRAMEWORKS[framework]}")
    task = data.get("task")
    _require(task in TASKS, f"task must be one of {TASKS}")
    inputs = data.get("inputs")
    _require(isinstance(inputs, dict), "inputs must be an object")
    features: tuple[Feature, ...] = ()
    image = None
    if inputs.get("kind", "tabular") == "image":
        image = _parse_image(inputs)
    else:
        features = _parse_features(inputs.get("features"))
    outputs = data.get("outputs") or {}
    labels = tuple(str(x) for x in outputs.get("labels", ()))
    _require(task != "classification" or len(labels) >= 2,
             "a classifier needs outputs.labels with at least two classes")
    batching = data.get("batching") or {}
    _require(isinstance(batching, dict), "batching must be an object")
    quantize = parse_accelerate(data.get("accelerate"))
    return ModelSpec(
        name=name, version=version, path=path, framework=framework, artifact=artifact,
        task=task, features=features, image=image, labels=labels,
        description=str(data.get("description", "")), metrics=dict(data.get("metrics") or {}),
        training_data=dict(data.get("training_data") or {}), batching=batching, raw=data,
        quantize=quantize,
    )


def load_manifest(path: Path, name: str, version: int) -> ModelSpec:
    """Read `<path>/model.json`; raises InvalidInput when it is missing or malformed."""
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidInput(f"Invalid manifest: {MANIFEST} is missing") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"Invalid manifest: {MANIFEST} is not valid JSON ({exc})") from exc
    return parse_manifest(data, name, version, path)
