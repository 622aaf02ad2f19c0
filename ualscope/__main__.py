"""`python -m ualscope` runs the same entry point as the `ualscope` console script."""

from ualscope.cli import main

raise SystemExit(main())
