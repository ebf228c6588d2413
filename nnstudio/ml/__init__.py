"""PyTorch side of NN Studio: model builder, trainer, telemetry, checkpoints and exporters (no Qt)."""
