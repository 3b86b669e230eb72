"""The minimal JupyterLab 4 front end of notebook-extension/lab-app, served by Debian's jupyterlab-server.

JupyterLab's Python package is not in Debian, but jupyterlab-server (which JupyterLab itself runs on) is: this
LabServerApp serves the webpack build in build/ at /lab, with its schemas and themes, and every prebuilt
labextension found in share/jupyter/labextensions (JUPYTER_PATH and the usual data directories).

    /usr/bin/python3 notebook-extension/lab-app/attach_lab.py --ServerApp.token=... [other ServerApp options]
"""

import json
import os
import sys

from jupyter_core.paths import jupyter_config_dir
from jupyterlab_server import LabServerApp

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build")


def _jupyter_server_extension_points():
    return [{"module": "attach_lab", "app": AttachLabApp}]


class AttachLabApp(LabServerApp):
    name = "attach_lab"
    extension_url = "/lab"
    default_url = "/lab"
    app_url = "/lab"
    app_name = "JupyterLab"
    # Debian's Notebook 6 is not a jupyter_server extension; there is nothing else to load.
    load_other_extensions = False
    app_version = json.load(open(os.path.join(HERE, "package.json"), encoding="utf-8"))["version"]
    app_settings_dir = os.path.join(BUILD, "application_settings")
    schemas_dir = os.path.join(BUILD, "schemas")
    static_dir = BUILD
    templates_dir = os.path.join(HERE, "templates")
    themes_dir = os.path.join(BUILD, "themes")
    # What users change is theirs, not the build's: under JUPYTER_CONFIG_DIR (~/.jupyter), as JupyterLab keeps it.
    user_settings_dir = os.path.join(jupyter_config_dir(), "lab", "user-settings")
    workspaces_dir = os.path.join(jupyter_config_dir(), "lab", "workspaces")


if __name__ == "__main__":
    if not os.path.exists(os.path.join(BUILD, "bundle.js")):
        sys.exit("attach: the JupyterLab front end is not built; run `make lab` (it runs npm ci and webpack in notebook-extension/lab-app).")
    sys.modules.setdefault("attach_lab", sys.modules["__main__"])
    AttachLabApp.launch_instance()
