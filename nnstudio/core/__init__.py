"""The design document, layer catalogue and shape inference — plain Python, no torch, no Qt."""

from .catalogue import ACTIVATIONS, GROUPS, LAYER_TYPES, TASKS, LayerType, Shape, fmt_shape, layer_type
from .document import Connection, Design, DesignEvent, Layer
from .errors import (
    CycleError,
    DataError,
    DesignError,
    ExportError,
    FormatError,
    InvalidConnectionError,
    LayerNameError,
    NNStudioError,
    ParameterError,
    SaveError,
    TrainingError,
    UnknownLayerError,
    UnknownLayerTypeError,
)
from .inference import Diagnostic, InferenceResult, infer
from .schema import ParamSpec
from .settings import DatasetSpec, TrainingConfig, ViewState

__all__ = [
    "ACTIVATIONS", "GROUPS", "LAYER_TYPES", "TASKS", "LayerType", "Shape", "fmt_shape", "layer_type",
    "Connection", "Design", "DesignEvent", "Layer", "CycleError", "DataError", "DesignError", "ExportError",
    "FormatError", "InvalidConnectionError", "LayerNameError", "NNStudioError", "ParameterError", "SaveError",
    "TrainingError", "UnknownLayerError", "UnknownLayerTypeError", "Diagnostic", "InferenceResult", "infer",
    "ParamSpec", "DatasetSpec", "TrainingConfig", "ViewState",
]
