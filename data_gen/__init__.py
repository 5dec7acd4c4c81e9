"""Synthetic joint distributions with exact mutual information."""
