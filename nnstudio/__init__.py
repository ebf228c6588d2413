"""NN Studio: build neural networks visually and watch them learn on real PyTorch."""

__version__ = "0.1.0"
