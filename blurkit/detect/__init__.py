"""Face detection: one module per backend, one small common `Detection` type."""
