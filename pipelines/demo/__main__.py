"""`python -m pipelines.demo [--out data/demo] [--seed 2026]` regenerates the synthetic demo files."""

import sys

from pipelines.demo.generate import main

sys.exit(main())
