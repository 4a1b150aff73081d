"""sciml-tui: pre-train, fine-tune and compare Fourier Neural Operators on PDE data."""

__version__ = "0.1.0"
