"""Progress lines carry done/total, rate and ETA."""

import logging

from flows.progress import Progress


def test_progress_lines_count_up_with_rate_and_eta(caplog):
    logger = logging.getLogger("akhbar.test")
    with caplog.at_level(logging.INFO, logger="akhbar.test"):
        progress = Progress(10, logger, tty=False)
        progress.advance(4)
        progress.advance(6)
        progress.close()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("NER 4/10 articles, ") and "articles/s" in lines[0] and "ETA" in lines[0]
    assert lines[1].startswith("NER 10/10 articles") and "ETA" not in lines[1]
