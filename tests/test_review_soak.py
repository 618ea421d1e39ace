"""`blurkit serve` with review on, killed with SIGKILL while processing, while items wait in
review, during an approval and during a re-render after a correction (tests/review_soak.py);
memory bombs in the batch go to failed/ with their reason and take nothing else down."""

from __future__ import annotations

import pytest
from review_soak import PHASES, review_soak


@pytest.mark.slow
def test_serve_with_review_loses_nothing_under_sigkill(tmp_path, monkeypatch):
    monkeypatch.delenv("BLURKIT_DATA_DIR", raising=False)
    summary = review_soak(tmp_path, n_items=36, kills=8, seed=3)
    assert summary["problems"] == [], summary["problems"]
    hit = {k["phase"] for k in summary["kill_log"] if k["hit"]}
    assert hit == set(PHASES), summary["kill_log"]
    review = summary["review"]
    assert review["approved"] > 0 and review["rejected"] > 0 and review["corrected"] > 0
    assert summary["outputs"] > 0 and summary["failed"] >= 2
