"""Which quantized TFLite forms to try for a Keras version, and the budget each must meet to serve.

A manifest opts in with `"accelerate": {"quantize": ["int8", "dynamic", "float16"],
"min_agreement": 0.99, "max_accuracy_drop": 0.005}`; `PODIUM_QUANTIZE` gives the forms for every
manifest that does not say. The budget may only be made stricter than the default: a form that
changes more than 1 answer in 100, or costs more than half a point of held-out accuracy, never
serves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from webapp.serving.errors import InvalidInput

FORMS = ("int8", "dynamic", "float16")  # also the order of preference when several pass
MIN_AGREEMENT = 0.99  # top-1 agreement with the float model on the held-out rows, at least
MAX_ACCURACY_DROP = 0.005  # held-out accuracy lost, at most (a fraction: 0.005 = half a point)


@dataclass(frozen=True)
class QuantizePlan:
    """The forms to try, in order of preference, and the budget each must meet."""

    forms: tuple[str, ...] | None = ()  # None: the setting's forms (PODIUM_QUANTIZE)
    min_agreement: float = MIN_AGREEMENT
    max_accuracy_drop: float = MAX_ACCURACY_DROP

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "forms": list(self.forms or ())}


NO_QUANTIZATION = QuantizePlan()


def parse_forms(value: Any, where: str = "quantize") -> tuple[str, ...]:
    """The forms named by a manifest's list or a setting (true = all, false/empty = none, a list or
    a comma-separated string), in order of preference; raises InvalidInput for an unknown form."""
    if value is None or value is False or value == "":
        return ()
    if value is True:
        return FORMS
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise InvalidInput(f"{where} must be a list of forms from {list(FORMS)}")
    names = [n.strip() for n in names]
    unknown = sorted(set(names) - set(FORMS))
    if unknown:
        raise InvalidInput(f"{where} names unknown forms {unknown}; known: {list(FORMS)}")
    return tuple(f for f in FORMS if f in names)


def _bounded(value: Any, low: float, high: float, name: str) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high
    if not ok:
        raise InvalidInput(f"accelerate.{name} must be a number from {low:g} to {high:g} "
                           "(the budget may only be made stricter)")
    return float(value)


def parse_accelerate(value: Any) -> QuantizePlan | None:
    """A manifest's `accelerate` value: None when it says nothing of quantization (the setting
    decides), else its plan (forms None when it names none); raises InvalidInput when malformed."""
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, dict):
        raise InvalidInput("accelerate must be false or an object")
    unknown = sorted(set(value) - {"quantize", "min_agreement", "max_accuracy_drop"})
    if unknown:
        raise InvalidInput(f"accelerate has unknown keys {unknown}")
    if not value:
        return None
    forms = None
    if "quantize" in value:
        if not isinstance(value["quantize"], list):
            raise InvalidInput(f"accelerate.quantize must be a list of forms from {list(FORMS)}")
        forms = parse_forms(value["quantize"], "accelerate.quantize")
    return QuantizePlan(
        forms,
        _bounded(value.get("min_agreement", MIN_AGREEMENT), MIN_AGREEMENT, 1.0, "min_agreement"),
        _bounded(value.get("max_accuracy_drop", MAX_ACCURACY_DROP), 0.0, MAX_ACCURACY_DROP,
                 "max_accuracy_drop"))


def effective_plan(manifest_plan: QuantizePlan | None, default_forms: tuple[str, ...]) -> QuantizePlan:
    """The manifest's plan, its forms defaulting to the setting's; else the setting's forms under
    the default budget."""
    plan = manifest_plan or QuantizePlan(None)
    return plan if plan.forms is not None else replace(plan, forms=parse_forms(list(default_forms)))
