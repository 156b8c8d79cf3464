"""Benchmark meta-evaluation: how well a benchmark's items tell models apart (docs/meta.md)."""
