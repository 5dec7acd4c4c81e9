"""mist: amortized mutual information estimation with a pretrained transformer."""

__version__ = "0.1.0"
