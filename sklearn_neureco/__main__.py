"""``python -m sklearn_neureco``: see :mod:`sklearn_neureco._cli`."""

import sys

from ._cli import main

sys.exit(main())
