"""Jupyter server configuration for the Galata tests (``jlpm start``), NEVER for production.

Expects MLNB_UI_ROOT (the prepared project folder, also the server root) and optionally
MLNB_UI_PORT and MLNB_UI_LABEXTENSIONS (a folder holding the built ``mlnb`` labextension,
for when it is not installed in the environment).
"""

import os
from pathlib import Path

import jupyterlab
from jupyterlab.galata import configure_jupyter_server

c = get_config()  # noqa: F821 - provided by traitlets when the file is loaded

configure_jupyter_server(c)

root = os.environ.get("MLNB_UI_ROOT")
if not root:
    raise SystemExit("MLNB_UI_ROOT is not set: run ui-tests/run.sh")

c.ServerApp.allow_root = True
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ.get("MLNB_UI_PORT", "8899"))
c.ServerApp.port_retries = 0
c.ServerApp.root_dir = root
c.ServerApp.jpserver_extensions.update({"mlnb": True})

# Galata's helper extension plus, when given, the freshly built mlnb labextension.
extra = [str(Path(jupyterlab.__file__).parent / "galata")]
if os.environ.get("MLNB_UI_LABEXTENSIONS"):
    extra.insert(0, os.environ["MLNB_UI_LABEXTENSIONS"])
c.LabServerApp.extra_labextensions_path = extra
