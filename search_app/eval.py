"""Deprecated name of the evaluation harness: `python -m search_app.eval` runs `python -m evaluation`.

The harness left the web app (it is a command-line tool, not something the server serves); this
alias keeps the old command working for one release and says, in Chinese, what to type instead.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)

DEPRECATION = "提示：python -m search_app.eval 已更名为 python -m evaluation，旧命令将在下一版本移除。"


def main(argv: list[str] | None = None) -> int:
    """Say that the command moved (on stderr, so the printed figures stay as they were), then run it."""
    from evaluation.harness import main as harness

    log.warning(DEPRECATION)
    return harness(argv)


if __name__ == "__main__":
    sys.exit(main())
