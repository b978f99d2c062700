"""Accuracy without labels: confidence-based performance estimation (as NannyML's CBPE does it).

Calibrate the model's top-class probability on held-out rows with known labels (isotonic
regression of "was the top class right" on the probability); for new predictions, the calibrated
probability is the expected correctness and its mean over a chunk the estimated accuracy.
"""

from __future__ import annotations

import numpy as np

from webapp.serving.monitoring.isotonic import Isotonic

LIMITS = ("Assumes the scores rank correctness as they did on the held-out rows (no concept drift), "
          "that new inputs stay in regions the held-out rows covered, and enough rows per chunk; "
          "the calibration rests on the held-out rows stored with the version, so a small held-out "
          "set gives a coarse estimate.")
MIN_CALIBRATION_ROWS = 20


class Calibrator:
    """Isotonic map from top-class probability to the chance the top class is right."""

    def __init__(self, probabilities: np.ndarray, truth: np.ndarray) -> None:
        probabilities = np.asarray(probabilities, dtype=np.float64)
        if probabilities.ndim != 2 or len(probabilities) != len(truth):
            raise ValueError("probabilities must be [rows, classes] with one truth per row")
        if len(truth) < MIN_CALIBRATION_ROWS:
            raise ValueError(f"{len(truth)} held-out rows; CBPE needs at least {MIN_CALIBRATION_ROWS}")
        confidence = probabilities.max(axis=1)
        correct = (probabilities.argmax(axis=1) == np.asarray(truth)).astype(np.float64)
        self.rows = len(truth)
        self.heldout_accuracy = float(correct.mean())
        self._iso = Isotonic(confidence, correct, y_min=0.0, y_max=1.0)

    def expected_correct(self, confidence: np.ndarray) -> np.ndarray:
        return self._iso.predict(np.asarray(confidence, dtype=np.float64))

    def estimate(self, confidence: np.ndarray, chunks: int = 1) -> dict:
        """Estimated accuracy over `confidence` (top-class probabilities), overall and per chunk."""
        confidence = np.asarray(confidence, dtype=np.float64)
        confidence = confidence[np.isfinite(confidence)]
        if len(confidence) == 0:
            return {"accuracy": None, "rows": 0, "calibration_rows": self.rows, "limits": LIMITS}
        expected = self.expected_correct(confidence)
        parts = np.array_split(expected, max(1, min(chunks, len(expected))))
        return {"accuracy": round(float(expected.mean()), 4), "rows": int(len(expected)),
                "chunks": [round(float(p.mean()), 4) for p in parts if len(p)],
                "calibration_rows": self.rows, "heldout_accuracy": round(self.heldout_accuracy, 4),
                "limits": LIMITS}
