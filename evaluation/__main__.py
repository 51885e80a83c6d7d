"""`python -m evaluation QRELS.jsonl [...] [--json]`: see `evaluation.harness`."""

import sys

from evaluation.harness import main

sys.exit(main())
