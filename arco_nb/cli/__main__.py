# SPDX-License-Identifier: Apache-2.0 OR MIT
"""``python -m arco_nb.cli``: the same as the ``arco`` command."""

import sys

from arco_nb.cli import main

sys.exit(main())
