"""``python -m mocks.kube`` runs the fake API server, as ``adcbridge-fake-kube`` does."""

import sys

from mocks.kube.cli import main

sys.exit(main())
