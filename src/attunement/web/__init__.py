"""The web application: server-rendered pages for clients, clinicians, supervisors and admins."""

from attunement.web.app import create_app

__all__ = ["create_app"]
