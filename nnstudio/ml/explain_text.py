"""The equations of one explained step with the real numbers plugged in, as plain Unicode text (no Qt).

The window's formula panel and `nnstudio explain` print the same lines. Every number shown is taken from
an `Explanation` (the model's own values, autograd's gradients, the optimizer's own state and step); the
text only names the rule that produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the window imports this text module before torch is wanted
    from .explain import Explanation, LayerTrace, Stage

MAX_TERMS = 6  # terms written out in a sum before "…"
TOP_K = 8  # entries listed per layer in a stage summary
DERIVATIVE_RULES = {
    "identity": "1", "relu": "1 if z > 0 else 0", "leaky_relu": "1 if z > 0 else 0.01",
    "elu": "1 if z > 0 else eᶻ", "gelu": "Φ(z) + z·φ(z)", "tanh": "1 − tanh²(z)",
    "sigmoid": "σ(z)·(1 − σ(z))", "softplus": "σ(z)", "sine": "cos(z)",
}
FUNCTION_NAMES = {"identity": "z", "relu": "max(0, z)", "leaky_relu": "max(0.01·z, z)", "elu": "ELU(z)",
                  "gelu": "z·Φ(z)", "tanh": "tanh(z)", "sigmoid": "σ(z)", "softplus": "log(1 + eᶻ)",
                  "sine": "sin(z)"}


@dataclass(frozen=True)
class Formula:
    title: str
    lines: list[str]

    def text(self) -> str:
        return "\n".join([self.title, *("  " + line for line in self.lines)])


def num(value: float) -> str:
    """A number as the stepper writes it: 4 significant digits, a real minus sign."""
    text = f"{float(value):.4g}"
    return text.replace("-", "−")


def _par(value: float) -> str:
    text = num(value)
    return f"({text})" if text.startswith("−") else text


def _sum(terms: list[str]) -> str:
    if len(terms) > MAX_TERMS:
        return " + ".join(terms[:MAX_TERMS - 1]) + f" + … ({len(terms) - MAX_TERMS + 1} more)"
    return " + ".join(terms)


def _consumers(ex: Explanation, name: str) -> list[LayerTrace]:
    return [t for t in ex.layers if name in t.inputs]


# ---- forward -------------------------------------------------------------------------------------------

def _range(values: np.ndarray) -> str:
    return f"in [{num(values.min())}, {num(values.max())}], mean {num(values.mean())}"


def channel_formula(ex: Explanation, layer: str, channel: int, sample: int, backward: bool) -> Formula:
    """One Conv2d channel: its feature map (forward) or its δ map and kernel gradient (backward)."""
    t = ex.layer(layer)
    z, a, d = t.z[sample, channel], t.a[sample, channel], t.delta[sample, channel]
    h, w = z.shape
    act = t.activation or "identity"
    if not backward:
        lines = ["z[c] = Σ_in K[c, in] ⋆ x[in] + b[c]   (the kernel slid over every input channel)",
                 f"  {h}×{w} values {_range(z)}"]
        if "bias" in t.params:
            lines.append(f"  b[c] = {num(t.params['bias'].value[channel])}")
        lines.append(f"a[c] = {FUNCTION_NAMES.get(act, act)}: {_range(a)}; {int((a != 0).sum())} of {a.size} non-zero")
        return Formula(f"Forward · {layer} · channel {channel + 1}" + _sample_note(ex, sample), lines)
    lines = ["δ[c] = f′(z[c]) ⊙ ∂L/∂a[c]   (element by element)",
             f"  {h}×{w} values {_range(d)}"]
    if t.grad_a is not None and t.fprime is not None:
        lines.append(f"  f′(z) = {DERIVATIVE_RULES.get(act, 'f′(z)')}: {_range(t.fprime[sample, channel])}")
    if "bias" in t.params:
        lines.append(f"∂L/∂b[c] = Σ over positions (and samples) δ = {num(t.params['bias'].grad[channel])}")
    if "weight" in t.params:
        kernel = t.params["weight"].grad[channel]
        lines.append(f"∂L/∂K[c] = Σ δ·(input patch), {'×'.join(str(n) for n in kernel.shape)}: "
                     f"‖·‖ = {num(float(np.linalg.norm(kernel)))}, largest |·| {num(float(np.abs(kernel).max()))}")
    return Formula(f"Backward · {layer} · channel {channel + 1}" + _sample_note(ex, sample), lines)


def forward_formula(ex: Explanation, layer: str, unit: int, sample: int = 0) -> Formula:
    t = ex.layer(layer)
    if t.type == "Conv2d":
        return channel_formula(ex, layer, unit, sample, backward=False)
    lines: list[str] = []
    if t.is_dense and t.input is not None:
        w = t.params["weight"].value[unit]
        x = t.input[sample].reshape(-1)
        b = t.params["bias"].value[unit] if "bias" in t.params else None
        terms = [f"{_par(wi)}·{_par(xi)}" for wi, xi in zip(w, x, strict=True)]
        lines.append("z = Σᵢ wᵢ·xᵢ" + (" + b" if b is not None else ""))
        lines.append("  = " + _sum(terms) + (f" + {_par(b)}" if b is not None else ""))
        lines.append(f"  = {num(t.z[sample, unit])}")
    else:
        lines.append(f"z = {t.type}(input) = {num(t.z[sample].reshape(-1)[unit])}")
    z = t.z[sample].reshape(-1)[unit]
    a = t.a[sample].reshape(-1)[unit]
    if t.type == "Output":
        if ex.task == "binary":
            lines.append(f"ŷ = σ(z) = 1 / (1 + e^−z) = σ({num(z)}) = {num(a)}")
        elif ex.task == "multiclass":
            lines.append(f"ŷ = eᶻ / Σₖ e^zₖ = e^{num(z)} / {num(np.exp(t.z[sample]).sum())} = {num(a)}")
        else:
            lines.append(f"ŷ = z = {num(a)}")
    elif t.activation is not None:
        lines.append(f"a = {FUNCTION_NAMES.get(t.activation, t.activation)} = {t.activation}({num(z)}) = {num(a)}")
    return Formula(f"Forward · {layer} · neuron {unit + 1}" + _sample_note(ex, sample), lines)


def _sample_note(ex: Explanation, sample: int) -> str:
    return f" · sample {ex.indices[sample]}" if len(ex.indices) > 1 else ""


# ---- loss ----------------------------------------------------------------------------------------------

def loss_formula(ex: Explanation, sample: int = 0) -> Formula:
    out = ex.layers[-1]
    z, yhat, y = out.z[sample], ex.output[sample], ex.target[sample]
    lines: list[str] = []
    if ex.loss_name.startswith("Playground"):
        for k, (o, yk) in enumerate(zip(yhat.reshape(-1), y.reshape(-1), strict=True)):
            t = 2 * float(yk) - 1 if ex.task == "binary" else float(yk)
            if ex.task == "binary":
                lines.append("L = ½·(tanh z − t)², t = +1 or −1" if k == 0 else "")
            else:
                lines.append("L = ½·(ŷ − y)²" if k == 0 else "")
            lines.append(f"  = ½·({num(o)} − {_par(t)})²")
        lines = [line for line in lines if line]
    elif ex.task == "binary":
        p, t = float(yhat[0]), float(y[0])
        lines.append("L = −[y·log ŷ + (1 − y)·log(1 − ŷ)]")
        lines.append(f"  = −[{num(t)}·log {num(p)} + {num(1 - t)}·log {num(1 - p)}]")
    elif ex.task == "multiclass":
        k = int(y)
        lines.append("L = −log ŷ[y] (the predicted probability of the true class y)")
        lines.append(f"  = −log ŷ[{k}] = −log {num(yhat[k])}")
    else:
        diffs = [f"({num(zi)} − {_par(yi)})" for zi, yi in zip(z, y, strict=True)]
        if ex.loss_name == "mean squared error":
            lines.append("L = (1/k)·Σₖ (ŷₖ − yₖ)²")
            lines.append("  = " + _sum([d + "²" for d in diffs]) + (f" / {len(z)}" if len(z) > 1 else ""))
        elif ex.loss_name == "mean absolute error":
            lines.append("L = (1/k)·Σₖ |ŷₖ − yₖ|")
            lines.append("  = " + _sum([f"|{d}|" for d in diffs]) + (f" / {len(z)}" if len(z) > 1 else ""))
        else:
            lines.append("L = (1/k)·Σₖ huber(ŷₖ − yₖ): ½·d² if |d| ≤ 1, else |d| − ½")
    n = len(ex.indices)
    if n > 1:
        lines.append(f"mean over the batch of {n} samples: L = {num(ex.loss)}")
    else:
        lines.append(f"  = {num(ex.loss)}")
    return Formula(f"Loss · {ex.loss_name}" + _sample_note(ex, sample), lines)


# ---- backward ------------------------------------------------------------------------------------------

def delta_formula(ex: Explanation, layer: str, unit: int, sample: int = 0) -> Formula:
    t = ex.layer(layer)
    if t.type == "Conv2d":
        return channel_formula(ex, layer, unit, sample, backward=True)
    n = len(ex.indices)
    flat = t.delta[sample].reshape(-1)
    lines: list[str] = []
    if t.type == "Output":
        z, yhat, y = t.z[sample], ex.output[sample], ex.target[sample]
        k = len(z)
        if ex.loss_name.startswith("Playground") and ex.task == "binary":
            o, t = float(yhat[0]), 2 * float(y[0]) - 1
            lines.append("δ = ∂L/∂z = (tanh z − t)·(1 − tanh² z) / n")
            lines.append(f"  = ({num(o)} − {_par(t)})·(1 − {num(o)}²) / {n}")
        elif ex.loss_name.startswith("Playground"):
            lines.append("δ = ∂L/∂z = (ŷ − y) / (n·k)")
            lines.append(f"  = ({num(z[unit])} − {_par(y[unit])}) / {n * k}")
        elif ex.task == "binary":
            lines.append("δ = ∂L/∂z = (ŷ − y) / n")
            lines.append(f"  = ({num(yhat[0])} − {num(y[0])}) / {n}")
        elif ex.task == "multiclass":
            hit = 1 if int(y) == unit else 0
            lines.append("δₖ = ∂L/∂zₖ = (ŷₖ − [k is the true class]) / n")
            lines.append(f"  = ({num(yhat[unit])} − {hit}) / {n}")
        elif ex.loss_name == "mean squared error":
            lines.append("δ = ∂L/∂z = 2·(ŷ − y) / (n·k)")
            lines.append(f"  = 2·({num(z[unit])} − {_par(y[unit])}) / {n * k}")
        elif ex.loss_name == "mean absolute error":
            lines.append("δ = ∂L/∂z = sign(ŷ − y) / (n·k)")
            lines.append(f"  = sign({num(z[unit])} − {_par(y[unit])}) / {n * k}")
        else:
            lines.append("δ = ∂L/∂z = clamp(ŷ − y, −1, 1) / (n·k)")
        lines.append(f"  = {num(flat[unit])}   (autograd)")
        return Formula(f"Backward · {layer} · neuron {unit + 1}" + _sample_note(ex, sample), lines)
    grad_a = t.grad_a[sample].reshape(-1)[unit] if t.grad_a is not None else 0.0
    consumers = _consumers(ex, layer)
    lines.append("∂L/∂a = Σⱼ wⱼ·δⱼ over the neurons this one feeds")
    if len(consumers) == 1 and consumers[0].is_dense:
        nxt = consumers[0]
        w = nxt.params["weight"].value[:, unit]
        d = nxt.delta[sample]
        lines.append("  = " + _sum([f"{_par(wj)}·{_par(dj)}" for wj, dj in zip(w, d, strict=True)]))
    elif consumers:
        lines.append(f"  (summed over what {', '.join(c.name for c in consumers)} send back)")
    lines.append(f"  = {num(grad_a)}")
    if t.activation is not None and t.fprime is not None:
        fp = t.fprime[sample].reshape(-1)[unit]
        z = t.z[sample].reshape(-1)[unit]
        lines.append(f"f′(z) = {DERIVATIVE_RULES.get(t.activation, 'f′(z)')} at z = {num(z)}: {num(fp)}")
        lines.append("δ = ∂L/∂z = f′(z)·∂L/∂a")
        lines.append(f"  = {num(fp)}·{_par(grad_a)} = {num(flat[unit])}")
    else:
        lines.append(f"δ = ∂L/∂z = {num(flat[unit])}")
    return Formula(f"Backward · {layer} · neuron {unit + 1}" + _sample_note(ex, sample), lines)


def gradient_formula(ex: Explanation, layer: str, param: str, index: tuple[int, ...]) -> Formula:
    t = ex.layer(layer)
    p = t.params[param]
    lines: list[str] = []
    if t.is_dense and t.input is not None:
        out = index[0]
        deltas = t.delta[:, out]
        if param == "weight":
            src = t.input.reshape(len(t.input), -1)[:, index[1]]
            lines.append("∂L/∂w = Σₙ δₙ·a_prev,ₙ" if len(deltas) > 1 else "∂L/∂w = δ·a_prev")
            lines.append("  = " + _sum([f"{_par(d)}·{_par(a)}" for d, a in zip(deltas, src, strict=True)]))
        else:
            lines.append("∂L/∂b = Σₙ δₙ" if len(deltas) > 1 else "∂L/∂b = δ")
            lines.append("  = " + _sum([_par(d) for d in deltas]))
    else:
        lines.append(f"∂L/∂{param}{list(index)} (autograd through {t.type})")
    lines.append(f"  = {num(p.grad[index])}")
    return Formula(f"Gradient · {layer}.{param}{list(index)}", lines)


# ---- update --------------------------------------------------------------------------------------------

def update_formula(ex: Explanation, layer: str, param: str, index: tuple[int, ...]) -> Formula:
    p = ex.layer(layer).params[param]
    h = ex.hyperparameters
    lr = ex.learning_rate
    w, g, g2 = float(p.value[index]), float(p.grad[index]), float(p.applied_grad[index])
    new = float(p.new_value[index])
    # Regularisation reaches weights only, never biases or normalisation parameters (optim.split_parameters).
    regularised = param == "weight" and ex.layer(layer).type in ("Dense", "Output", "Conv2d")
    lines = [f"g = ∂L/∂w = {num(g)}"]
    if "l1" in h and regularised:
        lines.append(f"L1: g ← g + λ₁·sign(w) = {num(g)} + {num(h['l1'])}·sign({num(w)})")
    if "grad_clip" in h:
        lines.append(f"clipped to a total gradient norm of at most {num(h['grad_clip'])}")
    if g2 != g:
        lines.append(f"  g = {num(g2)}")
    decay = h.get("weight_decay", 0.0) if regularised else 0.0
    opt = ex.optimizer
    state, prev = p.state, p.previous_state

    def sv(key: str, which: dict[str, np.ndarray]) -> float:
        return float(which[key][index]) if key in which and which[key].ndim else 0.0

    def s(key: str, which: dict[str, np.ndarray]) -> str:
        return _par(sv(key, which))

    g_eff = g2
    if decay and opt != "adamw":
        g_eff = g2 + decay * w
        lines.append(f"L2: g ← g + λ·w = {num(g2)} + {num(decay)}·{_par(w)} = {num(g_eff)}")
    if opt in ("sgd", "momentum", "nesterov"):
        mu = h.get("momentum", 0.0)
        if mu:
            first = "momentum_buffer" not in prev
            lines.append(f"v ← μ·v + g = {num(mu)}·{s('momentum_buffer', prev)} + {_par(g_eff)}"
                         f" = {s('momentum_buffer', state)}" + ("   (first step: v = g)" if first else ""))
            if opt == "nesterov":
                lines.append(f"w ← w − η·(g + μ·v) = {num(w)} − {num(lr)}·({num(g_eff)} + {num(mu)}·"
                             f"{s('momentum_buffer', state)})")
            else:
                lines.append(f"w ← w − η·v = {num(w)} − {num(lr)}·{s('momentum_buffer', state)}")
        else:
            lines.append(f"w ← w − η·g = {num(w)} − {num(lr)}·{_par(g_eff)}")
    elif opt in ("adam", "adamw"):
        b1, b2, eps = h.get("beta1", 0.9), h.get("beta2", 0.999), h.get("eps", 1e-8)
        step = int(np.asarray(state.get("step", 1)).reshape(-1)[0]) if "step" in state else 1
        if opt == "adamw" and decay:
            lines.append(f"decoupled decay: w ← w·(1 − η·λ) = {num(w)}·(1 − {num(lr)}·{num(decay)})")
        m, v = sv("exp_avg", state), sv("exp_avg_sq", state)
        lines.append(f"m ← β₁·m + (1 − β₁)·g = {num(b1)}·{s('exp_avg', prev)} + {num(1 - b1)}·{_par(g_eff)}"
                     f" = {num(m)}")
        lines.append(f"v ← β₂·v + (1 − β₂)·g² = {num(b2)}·{s('exp_avg_sq', prev)} + {num(1 - b2)}·{_par(g_eff)}²"
                     f" = {num(v)}")
        m_hat, v_hat = m / (1 - b1 ** step), v / (1 - b2 ** step)
        lines.append(f"m̂ = m / (1 − β₁^t) = {num(m_hat)}, v̂ = v / (1 − β₂^t) = {num(v_hat)}   (t = {step})")
        lines.append(f"w ← w − η·m̂ / (√v̂ + ε) = {num(w)} − {num(lr)}·{_par(m_hat)} / "
                     f"({num(v_hat ** 0.5)} + {num(eps)})")
    elif opt == "rmsprop":
        alpha, eps = h.get("alpha", 0.99), h.get("eps", 1e-8)
        sq = sv("square_avg", state)
        lines.append(f"s ← α·s + (1 − α)·g² = {num(alpha)}·{s('square_avg', prev)} + {num(1 - alpha)}·"
                     f"{_par(g_eff)}² = {num(sq)}")
        lines.append(f"w ← w − η·g / (√s + ε) = {num(w)} − {num(lr)}·{_par(g_eff)} / ({num(sq ** 0.5)} + {num(eps)})")
    elif opt == "adagrad":
        eps = h.get("eps", 1e-10)
        total = sv("sum", state)
        lines.append(f"s ← s + g² = {s('sum', prev)} + {_par(g_eff)}² = {num(total)}")
        lines.append(f"w ← w − η·g / (√s + ε) = {num(w)} − {num(lr)}·{_par(g_eff)} / "
                     f"({num(total ** 0.5)} + {num(eps)})")
    lines.append(f"  = {num(new)}   (step {num(new - w)}, by torch.optim's own step)")
    return Formula(f"Update · {layer}.{param}{list(index)} · {opt}", lines)


# ---- stage summaries (the CLI's output) ----------------------------------------------------------------

def top_entries(values: np.ndarray, k: int = TOP_K) -> list[tuple[tuple[int, ...], float]]:
    """The k entries of largest magnitude, largest first, with their indices."""
    flat = np.abs(values).reshape(-1)
    order = np.argsort(-flat, kind="stable")[:k]
    return [(tuple(int(i) for i in np.unravel_index(j, values.shape)), float(values.reshape(-1)[j]))
            for j in order]


def _vector(values: np.ndarray) -> str:
    flat = values.reshape(-1)
    if flat.size <= TOP_K:
        return "[" + ", ".join(num(v) for v in flat) + "]"
    top = ", ".join(f"#{list(i)}: {num(v)}" for i, v in top_entries(values))
    return f"{flat.size} values, mean {num(flat.mean())}, largest |·|: {top}"


def _summary(values: np.ndarray) -> str:
    return f"mean {num(values.mean())}, min {num(values.min())}, max {num(values.max())}, " \
           f"‖·‖ {num(float(np.linalg.norm(values)))}"


def stage_lines(ex: Explanation, stage: Stage, sample: int = 0) -> list[str]:
    """What one stage shows, in a few lines (small layers in full, big ones as top-k and summaries)."""
    if stage.kind == "loss":
        return loss_formula(ex, sample).text().splitlines()
    if stage.kind == "apply":
        moved = sum(int(np.count_nonzero(p.update)) for t in ex.layers for p in t.params.values())
        return [stage.title, f"  the step moves {moved:,} parameters; apply it with the window's Apply button"]
    t = ex.layer(stage.layer or "")
    lines = [f"{stage.title} ({t.type}" + (f", {t.activation})" if t.activation else ")")]
    if stage.kind == "forward":
        if t.is_dense and t.z.shape[1] <= TOP_K:
            for u in range(t.z.shape[1]):
                lines.append(f"  neuron {u + 1}:")
                lines += ["    " + line for line in forward_formula(ex, t.name, u, sample).lines]
        else:
            lines.append(f"  z: {_vector(t.z[sample])}")
            lines.append(f"  a: {_vector(t.a[sample])}")
    elif stage.kind == "backward":
        lines.append(f"  δ = ∂L/∂z: {_vector(t.delta[sample])}")
        if t.is_dense and t.z.shape[1] <= TOP_K:
            for u in range(t.z.shape[1]):
                last = delta_formula(ex, t.name, u, sample).lines[-1].strip().removeprefix("= ")
                lines.append(f"    neuron {u + 1}: δ = {last}")
        for name, p in t.params.items():
            lines.append(f"  ∂L/∂{name}: {_vector(p.grad) if p.grad.size <= TOP_K else _summary(p.grad)}")
    elif stage.kind == "update":
        for name, p in t.params.items():
            lines.append(f"  {name} step: {_vector(p.update) if p.update.size <= TOP_K else _summary(p.update)}")
    return lines
