"""The Open311 channel: GeoReport v2 at /open311/v2 (services, service definitions, requests)
in JSON and XML, for the apps and sites citizens report street problems with.

catalogue.py turns the configured service types into GeoReport services; submit.py turns a
POSTed report into one InboundContact for intake (channel `web`, the service code as the
explicit service); requests_query.py is the public view of reported requests; formats.py
renders JSON and XML (xml.etree) and the spec's error body; views.py is the blueprint.
Acknowledgements go out by email or SMS through intake, like every channel's.
"""

from __future__ import annotations

from typing import Any

from caseboard.services import Services


def init_channel(app: Any, services: Services) -> None:
    from channels.open311.views import bp

    app.register_blueprint(bp)
    app.extensions["csrf"].exempt(bp)  # an api_key, never a session cookie, authorises a POST
