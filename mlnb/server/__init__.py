"""jupyter-server extension: the REST API under ``{base_url}mlnb/api/`` that JupyterLab reads runs from.

The handlers only parse requests, call the tracking core and render JSON; importing this package
stays light (no store, no SQLAlchemy) so the server starts fast even where no run was ever logged.
"""

from __future__ import annotations

from typing import Any

__all__: list[str] = []


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "mlnb.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the mlnb REST routes on the running server (called once by jupyter_server)."""
    from jupyter_server.utils import url_path_join

    from ._context import SETTINGS_KEY, ServerContext
    from ._routes import API_PREFIX, route_table

    import os

    from mlnb.project import Project

    # Kernels started by this server inherit its environment: a notebook outside any mlnb
    # project then logs into the server's project, where the sidebar reads.
    os.environ.setdefault("MLNB_DEFAULT_PROJECT", str(Project.discover(serverapp.root_dir).root))

    web_app = serverapp.web_app
    base_url = web_app.settings.get("base_url", "/")
    web_app.settings[SETTINGS_KEY] = ServerContext(root_dir=serverapp.root_dir)
    web_app.add_handlers(".*$", route_table(base_url))

    # Paired notebooks: saving one writes both files, opening one reads both (jupytext's
    # contents manager), and every save keeps mlnb's sync record of the pair current.
    from ._paired import enable_paired_notebooks

    enable_paired_notebooks(serverapp)
    serverapp.log.info("mlnb: REST API at %s/", url_path_join(base_url, API_PREFIX))
