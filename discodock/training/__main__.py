"""``python -m discodock.training``: the same as ``discodock train``."""

import sys

from discodock.training.cli import main

sys.exit(main())
