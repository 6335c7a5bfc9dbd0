"""twilio-python's own signature test vectors validate with the library we use, and our
webhook check accepts exactly what Twilio would sign for the public URL behind a proxy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from channels.phone.security import valid_form_signature
from tests.channels.phone.conftest import MESSAGING, PUBLIC, TOKEN, TWILIO_DATA, Post, payload

VECTORS = json.loads((TWILIO_DATA / "twilio_python_signature_vectors.json").read_text())


@pytest.mark.parametrize("vector", [v for v in VECTORS["vectors"] if "expected_signature" in v],
                         ids=lambda v: v["name"])
def test_twilio_python_vectors_validate(vector: dict[str, Any]) -> None:
    validator = RequestValidator(VECTORS["auth_token"])
    params = (MultiDict(vector["params_list"]) if "params_list" in vector
              else dict(vector["params"]))
    url, expected = str(vector["url"]), str(vector["expected_signature"])
    assert validator.validate(url, params, expected)
    assert not validator.validate(url, params, expected[:-2] + "A=")
    assert not RequestValidator("54321").validate(url, params, expected)


@pytest.mark.parametrize("vector", [v for v in VECTORS["vectors"] if "expected_signature" in v],
                         ids=lambda v: v["name"])
def test_our_form_check_accepts_what_the_library_accepts(vector: dict[str, Any]) -> None:
    """The webhook check spares RequestValidator.validate's repeated work; its answers stay
    the library's: the URL with or without its port, repeated fields, wrong token or bytes."""
    token, url = VECTORS["auth_token"], str(vector["url"])
    form = MultiDict(vector["params_list"] if "params_list" in vector
                     else list(vector["params"].items()))
    validator = RequestValidator(token)
    expected = str(vector["expected_signature"])
    with_port = url.replace("mycompany.com/", "mycompany.com:443/")
    for signed in (url, with_port, url.replace("https://", "http://"), url + "&x=1"):
        for signature in (validator.compute_signature(signed, form), expected,
                          expected[:-2] + "A=", "", "é" * 28):
            assert valid_form_signature(token, url, form, signature) \
                == validator.validate(url, form, signature), (signed, signature)
    assert valid_form_signature(token, url, form, expected)
    assert not valid_form_signature("54321", url, form, expected)
    altered = form.copy()
    altered.add("Body", "one more")
    assert not valid_form_signature(token, url, altered, expected)


def test_signed_with_the_default_port_is_accepted(post: Post) -> None:
    """Twilio signs with or without :443 depending on its back end; both are Twilio's."""
    body = payload(MESSAGING, "receiveValid")
    with_port = PUBLIC.replace(".example", ".example:443") + "/twilio/sms"
    assert post("/twilio/sms", body, signed_url=with_port).status_code == 200
    wrong_port = PUBLIC.replace(".example", ".example:8443") + "/twilio/sms"
    assert post("/twilio/sms", dict(body, MessageSid="SM" + "7" * 32),
                signed_url=wrong_port).status_code == 403


def test_twilio_python_json_body_vector() -> None:
    vector = next(v for v in VECTORS["vectors"] if v["name"] == "json_body_hash")
    validator = RequestValidator(VECTORS["auth_token"])
    assert validator.compute_hash(vector["body"]) == vector["body_sha256"]
    url = vector["url_with_body"]
    signature = validator.compute_signature(url, {})
    assert validator.validate(url, vector["body"], signature)
    assert not validator.validate(url, vector["body"].replace("true", "false"), signature)


def test_behind_a_tls_proxy_the_public_url_counts(post: Post, twilio: FlaskClient) -> None:
    body = payload(MESSAGING, "receiveValid")
    # What the proxy forwards: http to us, but Twilio signed https://contact.city.example/...
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/sms", body)
    answer = twilio.post("/twilio/sms", data=body, base_url="http://10.0.0.5:8080",
                         headers={"X-Twilio-Signature": signature,
                                  "X-Forwarded-Proto": "https"})
    assert answer.status_code == 200
    inner = RequestValidator(TOKEN).compute_signature("http://10.0.0.5:8080/twilio/sms", body)
    refused = twilio.post("/twilio/sms", data=body, base_url="http://10.0.0.5:8080",
                          headers={"X-Twilio-Signature": inner})
    assert refused.status_code == 403


def test_a_json_body_must_match_the_signed_bodysha256(twilio: FlaskClient) -> None:
    """None of our webhooks takes JSON, but one signed that way must not carry another body."""
    body = '{"MessageSid": "SM1", "MessageStatus": "delivered"}'
    validator = RequestValidator(TOKEN)
    path = f"/twilio/status?bodySHA256={validator.compute_hash(body)}"
    signature = validator.compute_signature(PUBLIC + path, {})
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/json"}
    altered = twilio.post(path, data=body.replace("delivered", "failed"), headers=headers)
    assert altered.status_code == 403
    as_signed = twilio.post(path, data=body, headers=headers)
    assert as_signed.status_code == 400  # signed, but the fields must come as a form


def test_escapes_in_the_signed_query_are_kept(post: Post) -> None:
    path = "/twilio/sms?note=%E4%BD%A0%2Fa+b"  # Twilio signs the URL as it requested it
    assert post(path, payload(MESSAGING, "receiveValid")).status_code == 200


class TestWithoutPublicUrl:
    @pytest.fixture
    def phone_env(self) -> dict[str, str]:
        return {"CC_TWILIO_AUTH_TOKEN": TOKEN}

    def test_the_request_url_is_used(self, twilio: FlaskClient) -> None:
        body = payload(MESSAGING, "receiveValid")
        url = "http://localhost/twilio/sms"
        signature = RequestValidator(TOKEN).compute_signature(url, body)
        assert twilio.post("/twilio/sms", data=body,
                           headers={"X-Twilio-Signature": signature}).status_code == 200

    def test_the_request_url_keeps_its_escapes(self, twilio: FlaskClient) -> None:
        body = payload(MESSAGING, "receiveValid")
        path = "/twilio/sms?note=%E4%BD%A0%2Fa+b"
        signature = RequestValidator(TOKEN).compute_signature("http://localhost" + path, body)
        assert twilio.post(path, data=body,
                           headers={"X-Twilio-Signature": signature}).status_code == 200


class TestWithoutToken:
    @pytest.fixture
    def phone_env(self) -> dict[str, str]:
        return {}

    def test_every_webhook_is_refused(self, post: Post) -> None:
        assert post("/twilio/sms", payload(MESSAGING, "receiveValid"), token="x").status_code \
            == 403


def test_the_twilio_blueprint_needs_no_csrf_token_but_the_board_does(post: Post) -> None:
    assert post("/twilio/sms", payload(MESSAGING, "receiveValid")).status_code == 200
