"""The twilio REST client, built one way for outbound SMS, survey calls and media downloads."""

from __future__ import annotations

from twilio.rest import Client

from settings import Config


def rest_client(config: Config) -> Client:
    """The client for the configured account (and REST host, when one is set)."""
    client = Client(config["twilio.account_sid"], config["twilio.auth_token"])
    if config["phone.api_base_url"]:
        # The REST host, for a test server or a Twilio-compatible provider.
        client.api.base_url = config["phone.api_base_url"].rstrip("/")
    return client
