"""NN Studio: build neural networks visually and watch them learn on real PyTorch."""

__version__ = "0.1.0"


def __getattr__(name: str):  # noqa: ANN202 - lazy, so `import nnstudio` stays free of torch
    if name == "import_module":
        from nnstudio.ml.importers import import_module

        return import_module
    raise AttributeError(f"module 'nnstudio' has no attribute {name!r}")
