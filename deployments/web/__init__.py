"""The web app, served by the graph beside the API: pages for viewers, creators, analysts
and operators at ``/`` and ``/web/...`` (``install`` mounts it in ``create_app``).

Pages are server-rendered templates (``templates/``) with vendored plain JS/CSS
(``static/``); nothing is fetched from elsewhere. Every data call goes through the API app
itself with the signed-in session's key, which never leaves the server (``sessions.py``).
"""

from deployments.web.entrance import install
from deployments.web.pages import router

__all__ = ["install", "router"]
