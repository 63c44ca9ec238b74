"""A health probe for container engines and process supervisors, standard library only (it
runs every few seconds):

    python -m api.probe [/livez]      exit 0 when the local server answers 200, 1 otherwise

It asks the server on this machine at PORT (default 8000), over HTTPS when TLS_CERT_FILE is
set. The certificate is not verified: the probe talks to its own process over loopback, and
the certificate names the public host.
"""

from __future__ import annotations

import http.client
import os
import ssl
import sys


def probe(path: str = "/livez", timeout: float = 3.0) -> bool:
    port = int(os.environ.get("PORT") or 8000)
    host = os.environ.get("HOST") or "127.0.0.1"
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1" if host != "::" else "::1"
    if os.environ.get("TLS_CERT_FILE"):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=context
        )
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(0 if probe(sys.argv[1] if len(sys.argv) > 1 else "/livez") else 1)
