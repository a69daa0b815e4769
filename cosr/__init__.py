"""cosr: Curated Objective Self-play Reasoning."""

__version__ = "0.1.0"
