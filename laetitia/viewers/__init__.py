"""Viewers: what reacts to a shown emoticon (a person at a webcam, a video, a recording)."""

from laetitia.viewers.base import Reaction, Viewer
from laetitia.viewers.simulated import SimulatedViewer
from laetitia.viewers.spec import SPEC_FORMS, ViewerSpec, make_viewer, parse_viewer_spec

__all__ = [
    "SPEC_FORMS",
    "Reaction",
    "SimulatedViewer",
    "Viewer",
    "ViewerSpec",
    "make_viewer",
    "parse_viewer_spec",
]
