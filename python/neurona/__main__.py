"""``python -m neurona`` runs the command line."""

import sys

from neurona.cli import main

sys.exit(main())
