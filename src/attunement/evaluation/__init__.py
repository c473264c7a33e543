"""Measuring early-warning methods on held-out clients: the harness behind ``attunement evaluate``."""
