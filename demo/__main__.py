"""``python -m demo``: run one demo orchestrator instance (see :mod:`.server`)."""

import sys

from demo.server import main

sys.exit(main())
