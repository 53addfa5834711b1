"""Serving off this machine, on a real socket: HTTPS only, and a token at the door.

The certificate is a self-signed one made with openssl for the test (`browser_tools`).
"""

import ssl
import urllib.error
import urllib.request

import pytest
from browser_tools import self_signed, this_machines_address

from laetitia.app.web.participant import ParticipantServer
from laetitia.errors import WebServerError


def test_off_the_loopback_plain_http_is_refused_and_https_asks_for_the_token(tmp_path):
    # This machine's own address off the loopback: a request comes in as from another host.
    # A machine with none binds every address and is asked through the loopback.
    address = this_machines_address()
    bind, asked = (address, address) if address else ("0.0.0.0", "127.0.0.1")
    with pytest.raises(WebServerError, match="needs HTTPS"):
        ParticipantServer(f"{bind}:0")
    cert, key = self_signed(tmp_path, asked)
    trusted = ssl.create_default_context(cafile=str(cert))
    with ParticipantServer(f"{bind}:0", tls_cert=cert, tls_key=key) as page:
        assert "?token=" in page.url
        bare = f"https://{asked}:{page.server.port}/"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bare, context=trusted, timeout=5)
        assert refused.value.code == 403
        token = page.url.split("?")[1]
        with urllib.request.urlopen(f"{bare}?{token}", context=trusted, timeout=5) as response:
            assert response.status == 200 and b"participant.js" in response.read()
