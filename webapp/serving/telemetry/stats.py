"""Resource figures from psutil: this worker process, the machine, the store's disk, each model."""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from webapp.serving.service import ModelService

_process = psutil.Process()
_process.cpu_percent(interval=None)  # prime: the first call always answers 0.0
psutil.cpu_percent(interval=None)

MB = 1024 * 1024
FRAMEWORKS = ("tensorflow", "keras", "sklearn", "onnxruntime", "ai_edge_litert")


def process_stats() -> dict[str, Any]:
    with _process.oneshot():
        memory = _process.memory_info()
        try:
            open_files = len(_process.open_files())
        except psutil.Error:
            open_files = None
        return {
            "pid": _process.pid, "rss_mb": round(memory.rss / MB, 1),
            "cpu_percent": _process.cpu_percent(interval=None),
            "threads": _process.num_threads(), "open_files": open_files,
            "uptime_seconds": round(time.time() - _process.create_time(), 1),
            # which frameworks this worker has imported: converted versions need neither TF nor sklearn
            "frameworks": [m for m in FRAMEWORKS if m in sys.modules],
        }


def system_stats(store_root: str) -> dict[str, Any]:
    memory = psutil.virtual_memory()
    try:
        disk = psutil.disk_usage(store_root)
        disk_stats = {"total_mb": round(disk.total / MB), "free_mb": round(disk.free / MB),
                      "percent": disk.percent}
    except OSError:
        disk_stats = None
    return {
        "cpu_count": psutil.cpu_count(), "cpu_percent": psutil.cpu_percent(interval=None),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "memory_total_mb": round(memory.total / MB), "memory_available_mb": round(memory.available / MB),
        "memory_percent": memory.percent, "model_store_disk": disk_stats,
    }


def model_stats(service: ModelService) -> dict[str, Any]:
    return {
        name: {"default_version": model.default_version, "labels": model.labels,
               "versions": {str(v): status.info() for v, status in model.versions.items()}}
        for name, model in service.models().items()
    }


def all_stats(service: ModelService) -> dict[str, Any]:
    """Everything the stats endpoint and the ops page show, for the worker that answers."""
    return {"process": process_stats(), "system": system_stats(str(service.store.root)),
            "models": model_stats(service), "ready": service.ready()}
