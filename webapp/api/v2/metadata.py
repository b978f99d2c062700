"""Server and model metadata, Triton's model configuration and the repository index, as documents."""

from __future__ import annotations

from typing import Any

from webapp.serving.loaded import State, VersionStatus
from webapp.serving.models.spec import ModelSpec
from webapp.serving.service import ModelStatus

EXTENSIONS = ["binary_tensor_data", "classification", "model_repository", "model_configuration"]
INDEX_STATE = {State.AVAILABLE: "READY", State.LOADING: "LOADING", State.FAILED: "UNAVAILABLE",
               State.UNLOADED: "UNAVAILABLE"}


def server_metadata(version: str) -> dict[str, Any]:
    return {"name": "podium", "version": version, "extensions": EXTENSIONS}


def platform(spec: ModelSpec) -> str:
    """`<project>_<format>` as Triton names platforms (there is no standard name for sklearn)."""
    if spec.framework == "keras":
        return "tensorflow_keras"
    if spec.framework in ("recommend", "chat"):
        return f"podium_{spec.framework}"
    return "sklearn_" + spec.artifact.rsplit(".", 1)[-1]


KIND_INPUTS = {"recommendation": [{"name": "user", "datatype": "BYTES", "shape": [-1]},
                                  {"name": "item", "datatype": "BYTES", "shape": [-1]}], "chat": []}
KIND_OUTPUTS = {"recommendation": [{"name": "items", "datatype": "BYTES", "shape": [-1, -1]},
                                   {"name": "scores", "datatype": "FP32", "shape": [-1, -1]}], "chat": []}


def input_tensors(spec: ModelSpec) -> list[dict[str, Any]]:
    """A recommender takes `user` or `item` ids; a chat answers at /openai/v1, not here."""
    return KIND_INPUTS[spec.task] if spec.task in KIND_INPUTS else [input_tensor(spec)]


def input_tensor(spec: ModelSpec) -> dict[str, Any]:
    name = "image" if spec.image is not None else "input"
    return {"name": name, "datatype": "FP32", "shape": [-1, *spec.input_shape]}


def output_tensors(spec: ModelSpec) -> list[dict[str, Any]]:
    if spec.task in KIND_OUTPUTS:
        return KIND_OUTPUTS[spec.task]
    if spec.task == "classification":
        return [{"name": "probabilities", "datatype": "FP32", "shape": [-1, len(spec.labels)]},
                {"name": "label", "datatype": "BYTES", "shape": [-1]}]
    return [{"name": "predictions", "datatype": "FP32", "shape": [-1]}]


def model_metadata(model: ModelStatus, status: VersionStatus) -> dict[str, Any]:
    """OIP model metadata for one version; `podium` carries what the protocol has no field for."""
    spec = status.spec
    assert spec is not None
    return {
        "name": spec.name, "versions": [str(v) for v in sorted(model.versions)],
        "platform": platform(spec), "inputs": input_tensors(spec), "outputs": output_tensors(spec),
        "podium": {"version": str(status.version), "task": spec.task, "framework": spec.framework,
                   "description": spec.description, "input_kind": spec.input_kind,
                   "features": spec.feature_names, "labels": list(spec.labels),
                   "metrics": spec.metrics},
    }


def _config_tensor(tensor: dict[str, Any]) -> dict[str, Any]:
    """A metadata tensor as a Triton config entry: dims without the batch dimension."""
    data_type = "TYPE_STRING" if tensor["datatype"] == "BYTES" else "TYPE_" + tensor["datatype"]
    dims = tensor["shape"][1:]
    entry: dict[str, Any] = {"name": tensor["name"], "data_type": data_type, "dims": dims or [1]}
    if not dims:  # Triton's way to say "one value per batch row": dims [1] reshaped to []
        entry["reshape"] = {"shape": []}
    return entry


def model_config(status: VersionStatus, max_batch_size: int) -> dict[str, Any]:
    """Triton's model configuration, consistent with the metadata so perf_analyzer can drive it."""
    spec = status.spec
    assert spec is not None
    batch = spec.batching.get("max_batch_size")
    if type(batch) is int and batch > 0:
        max_batch_size = min(batch, max_batch_size)
    return {
        "name": spec.name, "platform": platform(spec), "backend": "podium",
        "max_batch_size": max_batch_size,
        "input": [_config_tensor(t) for t in input_tensors(spec)],
        "output": [_config_tensor(t) for t in output_tensors(spec)],
        "version_policy": {"specific": {"versions": [status.version]}},
    }


def index_entries(models: dict[str, ModelStatus], ready_only: bool) -> list[dict[str, Any]]:
    """The repository index: one entry per stored version, with its state in this worker."""
    entries = []
    for name in sorted(models):
        model = models[name]
        for number in sorted(set(model.stored) | set(model.versions)):
            status = model.versions.get(number)
            if status is None:
                why = "unloaded" if model.config.get("unloaded") else "not served by the version policy"
                state, reason = "UNAVAILABLE", why
            else:
                state, reason = INDEX_STATE[status.state], status.reason
            if ready_only and state != "READY":
                continue
            entries.append({"name": name, "version": str(number), "state": state, "reason": reason})
    return entries


def _duration(count: int, ms: float) -> dict[str, int]:
    return {"count": count, "ns": int(ms * 1_000_000)}


def version_stats(status: VersionStatus) -> dict[str, Any]:
    """Triton's statistics for one version, from this worker's counters (each worker counts its own).

    success is the whole time in the core; queue, compute_input, compute_infer and compute_output
    are the Server-Timing phases (queue wait, decode, compute, encode); last_inference is not
    tracked (0).
    """
    c = status.counters
    ok = c["requests"] - c["errors"]
    phase = {name: _duration(t["count"], t["total_ms"]) for name, t in c["timing"].items()}
    zero = _duration(0, 0.0)
    return {
        "name": status.model, "version": str(status.version), "last_inference": 0,
        "inference_count": c["rows"], "execution_count": c["requests"],
        "inference_stats": {"success": _duration(ok, c["total_latency_ms"]),
                            "fail": _duration(c["errors"], 0.0), "queue": phase["queue"],
                            "compute_input": phase["decode"], "compute_infer": phase["compute"],
                            "compute_output": phase["encode"], "cache_hit": zero, "cache_miss": zero},
        "batch_stats": [],
    }
