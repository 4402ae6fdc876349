"""``python -m neo_recommender``."""

import sys

from neo_recommender.cli import main

sys.exit(main())
