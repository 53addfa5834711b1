"""The emoticon: its parameter space and its drawing. Knows nothing of cameras, FER or RL."""

from laetitia.emoticon.params import PARAM_SPACE, Param, ParamSpace
from laetitia.emoticon.render import render
from laetitia.emoticon.window import EmoticonWindow

__all__ = ["PARAM_SPACE", "EmoticonWindow", "Param", "ParamSpace", "render"]
