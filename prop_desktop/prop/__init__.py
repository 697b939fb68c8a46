"""The PRoP engine: key encoders, layer modulation of any torch module, training, merging, metrics.

No Qt, no serial, no keyring, no storage here (enforced by tests/test_architecture.py).
"""
