"""`python -m unmask.cli`: the `unmask` command without the installed entry point."""
import sys

from unmask.cli import main

sys.exit(main())
