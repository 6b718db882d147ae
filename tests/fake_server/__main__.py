"""`python -m fake_server` (with tests/ on the path): the fake model server as a process."""

from fake_server.cli import main

raise SystemExit(main())
