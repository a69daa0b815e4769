"""Hugging Face loads without progress bars: transformers draws one ("Loading weights") at every model load,
a round's training and its evaluation included, which fills a log file; cosr's own lines say what loads."""

from __future__ import annotations


def quiet_loading() -> None:
    """Turn transformers' (and the Hub's) progress bars off for this process; call before a model loads."""
    from transformers.utils import logging

    logging.disable_progress_bar()
