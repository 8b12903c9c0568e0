"""`dgm ui`: a read-only web app over the archive, live while a run goes.

Served by the standard library; pages are rendered on the server (escaped), with a small
script and stylesheet from `static/` for the tree and the live updates. See docs/ui.md.
"""

from dgm.ui.server import App, UIServer, make_server

__all__ = ["App", "UIServer", "make_server"]
