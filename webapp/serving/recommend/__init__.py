"""The recommendation model kind: an interaction matrix plus user-cosine, item-cosine or SVD scoring."""

from .data import Interactions
from .runtime import Recommendation, RecommendConfig, Recommender

__all__ = ["Interactions", "Recommendation", "RecommendConfig", "Recommender"]
