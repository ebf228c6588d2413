"""TensorFlow Playground share links (`#activation=tanh&batchSize=10&…`, as its `state.ts` writes them) → designs.

Read like Playground reads its own URL hash: `key=value` pairs joined by `&`; a value it cannot use keeps
Playground's default. Here every such value is also reported, naming the key and the value, and keys that
are not Playground's are listed; neither stops the import. Only a text with no `key=value` pair at all, or a
link that leaves no input feature on, is refused (`FormatError`).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from urllib.parse import unquote

from nnstudio.core.document import Design
from nnstudio.core.errors import FormatError

ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "linear": "identity"}
REGULARIZATIONS = {"none": "none", "L1": "l1", "L2": "l2"}
CLASSIFICATION_SETS = ("circle", "xor", "gauss", "spiral")
REGRESSION_SETS = ("reg-plane", "reg-gauss")
# Playground's input checkboxes, in its order, and NN Studio's names for them.
FEATURE_KEYS = {"x": "x1", "y": "x2", "xSquared": "x1^2", "ySquared": "x2^2", "xTimesY": "x1*x2",
                "sinX": "sin(x1)", "sinY": "sin(x2)"}
# Keys of state.ts that only change Playground's page, not the network, its data or its training. The two
# view keys become the design's view settings; the others (and every `*_hide`) are listed as not used.
VIEW_KEYS = {"showTestData": "show_test_data", "discretize": "discretize"}
DISPLAY_KEYS = ("collectStats", "hideText", "tutorial")
SAMPLES = {"classification": 500, "regression": 1200}  # NUM_SAMPLES_CLASSIFY / NUM_SAMPLES_REGRESS
MAX_LINK_CHARS = 20_000
MAX_UNITS = 1_000_000


@dataclass
class PlaygroundLink:
    """What a link says, with Playground's defaults where it says nothing usable."""

    activation: str = "tanh"
    regularization: str = "none"
    batch_size: int = 10
    dataset: str = "circle"
    reg_dataset: str = "reg-plane"
    learning_rate: float = 0.03
    regularization_rate: float = 0.0
    noise: float = 0.0  # Playground's slider, 0..50
    network_shape: list[int] = field(default_factory=lambda: [4, 2])
    seed: str = ""
    perc_train_data: int = 50
    features: dict[str, bool] = field(default_factory=lambda: {k: k in ("x", "y") for k in FEATURE_KEYS})
    problem: str = "classification"
    init_zero: bool = False
    show_test_data: bool = False  # Playground's "Show test data" checkbox
    discretize: bool = False  # Playground's "Discretize output" checkbox
    notes: list[str] = field(default_factory=list)  # values it could not use, in the link's order
    unknown: list[str] = field(default_factory=list)  # keys that are not Playground's
    display: list[str] = field(default_factory=list)  # Playground page settings a design does not keep

    @property
    def dataset_name(self) -> str:
        return self.reg_dataset if self.problem == "regression" else self.dataset

    @property
    def data_seed(self) -> int:
        """A whole-number data seed from Playground's seed text ("0.12345" → 12345)."""
        text = self.seed.strip()
        if text.startswith("0.") and text[2:].isdigit() and text[2:]:
            return int(text[2:]) % 2**31
        if text.isdigit():
            return int(text) % 2**31
        return zlib.crc32(text.encode("utf-8")) % 2**31 if text else 0


def _pairs(link: str) -> list[tuple[str, str]]:
    text = link.strip()
    if len(text) > MAX_LINK_CHARS:
        raise FormatError(f"the link is {len(text):,} characters long; a Playground link has well under "
                          f"{MAX_LINK_CHARS:,}")
    if "#" in text:
        text = text.split("#", 1)[1]
    elif "?" in text:
        text = text.split("?", 1)[1]
    pairs = []
    for part in text.split("&"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            pairs.append((unquote(key).strip(), None))  # type: ignore[arg-type]
            continue
        pairs.append((unquote(key).strip(), unquote(value).strip()))
    if not any(value is not None for _, value in pairs):
        raise FormatError("this is not a Playground link: it has no key=value settings after '#' "
                          "(for example #activation=tanh&dataset=circle&networkShape=4,2)")
    return pairs


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_link(link: str) -> PlaygroundLink:
    """Read a Playground share link; what it could not use is in `notes` and `unknown`."""
    state = PlaygroundLink()
    notes = state.notes

    def bad(key: str, value: str, why: str, kept: object) -> None:
        shown = value if len(value) <= 40 else value[:37] + "..."
        notes.append(f"{key}={shown}: {why}; kept {kept}")

    def choice(key: str, value: str, options: dict[str, str] | tuple[str, ...], attr: str) -> None:
        if value in options:
            setattr(state, attr, options[value] if isinstance(options, dict) else value)
        else:
            bad(key, value, f"not one of {', '.join(options)}", getattr(state, attr))

    def number(key: str, value: str, attr: str, low: float, high: float, whole: bool = False) -> None:
        got = _number(value)
        kept = getattr(state, attr)
        if got is None:
            bad(key, value, "not a number", kept)
        elif whole and not got.is_integer():
            bad(key, value, "not a whole number", kept)
        elif not low <= got <= high:
            bad(key, value, f"outside {low:g}…{high:g}", kept)
        else:
            setattr(state, attr, int(got) if whole else got)

    for key, value in _pairs(link):
        if value is None:
            bad(key, "", "has no '=' and no value", "the default")
            continue
        if key.endswith("_hide") or key in DISPLAY_KEYS:
            state.display.append(key)
            continue
        if key in VIEW_KEYS:
            if value not in ("true", "false"):
                notes.append(f"{key}={value[:40]}: not true or false; read as true, as Playground does")
            setattr(state, VIEW_KEYS[key], value != "false")
        elif key in FEATURE_KEYS:
            state.features[key] = value != "false"  # Playground: anything but "false" is true
        elif key in ("cosX", "cosY"):
            if value != "false":
                notes.append(f"{key}={value}: Playground offers no {key} input any more; left out")
        elif key == "activation":
            choice(key, value, ACTIVATIONS, "activation")
        elif key == "regularization":
            choice(key, value, REGULARIZATIONS, "regularization")
        elif key == "dataset":
            choice(key, value, CLASSIFICATION_SETS, "dataset")
        elif key == "regDataset":
            choice(key, value, REGRESSION_SETS, "reg_dataset")
        elif key == "problem":
            choice(key, value, ("classification", "regression"), "problem")
        elif key == "batchSize":
            number(key, value, "batch_size", 1, 65_536, whole=True)
        elif key == "learningRate":
            number(key, value, "learning_rate", 1e-6, 10)
        elif key == "regularizationRate":
            number(key, value, "regularization_rate", 0, 10)
        elif key == "noise":
            number(key, value, "noise", 0, 50)
        elif key == "percTrainData":
            number(key, value, "perc_train_data", 10, 90, whole=True)
        elif key == "seed":
            state.seed = value
        elif key == "initZero":
            state.init_zero = value != "false"
            if state.init_zero:
                notes.append("initZero=true: NN Studio starts from Playground's random weights, not zeros")
        elif key == "networkShape":
            shape = [] if value == "" else [_number(v.strip()) for v in value.split(",")]
            if all(v is not None and v.is_integer() and 1 <= v <= MAX_UNITS for v in shape):
                state.network_shape = [int(v) for v in shape]  # type: ignore[union-attr]
            else:
                bad(key, value, "needs whole numbers of neurons, 1 or more, separated by commas",
                    ",".join(map(str, state.network_shape)))
        else:
            state.unknown.append(key)
    return state


def design_from_link(link: str) -> tuple[Design, PlaygroundLink]:
    """The design a Playground link describes, trained with the Playground recipe until paused."""
    state = parse_link(link)
    features = [name for key, name in FEATURE_KEYS.items() if state.features.get(key)]
    if not features:
        raise FormatError("the link turns every input feature off (x, y, xSquared, …): Playground would have "
                          "nothing to learn from; set at least one to true")
    regression = state.problem == "regression"
    name = state.dataset_name
    design = Design(f"Playground: {name}", "Imported from a TensorFlow Playground link.")
    x = 0.0
    previous = design.add_layer("Input", "inputs", {"features": len(features)}, (x, 0.0), "L1")
    for index, units in enumerate(state.network_shape, start=1):
        x += 240.0
        layer = design.add_layer("Dense", f"hidden{index}", {"units": units, "activation": state.activation},
                                 (x, 0.0), f"L{index + 1}")
        design.connect(previous.id, layer.id)
        previous = layer
    output = design.add_layer("Output", "output", {"task": "regression" if regression else "binary", "units": 1},
                              (x + 240.0, 0.0), f"L{len(state.network_shape) + 2}")
    design.connect(previous.id, output.id)
    design.set_dataset(source="playground", name=name, samples=SAMPLES[state.problem], noise=state.noise / 100,
                       train_percent=state.perc_train_data, seed=state.data_seed, features=features)
    design.set_training(recipe="playground", until_paused=True, init="playground", optimizer="sgd",
                        learning_rate=state.learning_rate, batch_size=state.batch_size,
                        regularization=state.regularization, regularization_rate=state.regularization_rate)
    design.set_view(show_test_data=state.show_test_data, discretize=state.discretize)
    return design, state


def describe_import(state: PlaygroundLink) -> list[str]:
    """The lines to tell a user after an import: what was not used, and what was left out."""
    lines = list(state.notes)
    if state.unknown:
        lines.append(f"not Playground settings, ignored: {', '.join(state.unknown)}")
    if state.display:
        lines.append(f"Playground page settings NN Studio does not use: {', '.join(dict.fromkeys(state.display))}")
    if state.seed:
        lines.append(f"seed={state.seed}: NN Studio draws its own points from data seed {state.data_seed} "
                     "(the same recipe as Playground's, not the same points)")
    return lines
