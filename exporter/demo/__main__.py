"""``python -m exporter.demo``: run one demo orchestrator instance (see :mod:`.server`)."""

import sys

from exporter.demo.server import main

sys.exit(main())
