"""The trainer's parts, one room each; `nnstudio.ml.trainer.Trainer` assembles them (import it from there).

- `device`: which device a fit runs on.
- `dispatch`: callback dispatch that tells a callback's failure apart from the training's.
- `data`: the dataset checked, resident on the device, and the telemetry collector over it.
- `state`: the optimizer and what a checkpoint keeps (counters, random state, moments).
- `loop`: epochs and steps, eager or replayed as a CUDA graph.
- `steering`: pause, step, stop and live hyper-parameter / weight edits between steps.
- `publication`: the throttled publication of telemetry and the history points.
"""
