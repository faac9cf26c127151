"""`python -m aetui` is the same as the `aetui` command."""

import sys

from aetui.cli import main

sys.exit(main())
