"""The synthetic demonstration: its deterministic generator (`python -m pipelines.demo`) and its loader."""
