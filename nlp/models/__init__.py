"""Shipped model files (weights as .npz arrays, metadata as JSON), loaded with numpy; no code lives here."""
