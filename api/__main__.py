"""`python -m api` is the `ledgercrm` command."""

from api.cli import main

raise SystemExit(main())
