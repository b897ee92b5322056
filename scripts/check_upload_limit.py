#!/usr/bin/env python3
"""Scripted check: an upload far over MAX_UPLOAD_SIZE is refused before the server reads it.

    DATABASE_URL=postgres://... python scripts/check_upload_limit.py     # SQLite when unset

Starts gunicorn, then for every endpoint that takes files opens a raw socket, announces a 200 MB
multipart body (Content-Length) and sends only 4 KB of it: the answer must be a 413 that comes at
once, since the server did not wait for the 200 MB. Prints `name=value` lines; exits non-zero when
a check fails."""

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from serving import ROOT, gunicorn, production_env  # scripts/serving.py, next to this script

ENDPOINTS = {
    "donation_form": "/dons/proposer/",
    "document_verification": "/v/REC-2026-000001/",
    "workshop_import": "/atelier/imports/",
    "directory_import": "/relais/import/",
    "api_import": "/api/refurbishers/imports/",
}
ANNOUNCED = 200 * 1024 * 1024
SENT = 4096
ANSWER_WITHIN_SECONDS = 2.0


def out(name, value):
    print(f"{name}={value}", flush=True)


def csrf_cookie(port):
    """A CSRF cookie, as any visitor gets one: without it Django refuses a POST before reading it,
    with it the CSRF check parses the body to find the token."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/dons/proposer/", timeout=10) as response:
        for header in response.headers.get_all("Set-Cookie") or []:
            if header.startswith("csrftoken="):
                return header.split(";", 1)[0]
    raise SystemExit("Pas de cookie CSRF sur le formulaire de don.")


def probe(port, path, cookie, timeout):
    """(status, seconds until the answer's first line) for a 200 MB announced body of which 4 KB sent;
    status 0 when nothing came back within `timeout` seconds (the server waits for the body)."""
    boundary = "----reemploi-size-check"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {ANNOUNCED}\r\nConnection: close\r\n\r\n"
    ).encode()
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    body = part + b"x" * (SENT - len(part))
    started = time.monotonic()
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + body)
        try:
            while b"\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            pass
    seconds = time.monotonic() - started
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--http-port", type=int, default=8791)
    args = parser.parse_args()
    env = production_env("check-upload-limit")
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='reemploi-size-')}/db.sqlite3"
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    failures = []
    with gunicorn(port=args.http_port, workers=2, env=env):
        cookie = csrf_cookie(args.http_port)
        for name, path in ENDPOINTS.items():
            status, seconds = probe(args.http_port, path, cookie, timeout=10)
            out(f"{name}_status", status)
            out(f"{name}_answer_seconds", f"{seconds:.3f}")
            if status != 413 or seconds > ANSWER_WITHIN_SECONDS:
                failures.append(f"{path}: {status} after {seconds:.1f} s")
    out("upload_limit_ok", int(not failures))
    if failures:
        sys.exit("; ".join(failures))


if __name__ == "__main__":
    main()
