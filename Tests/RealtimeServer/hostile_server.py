#!/usr/bin/env python3
"""A server on the Realtime URL that answers the WebSocket handshake the way no real backend
should: for captiontap's client hardening tests (a fake that injects a fault the real service
cannot be made to produce; plain HTTP/1.1, nothing else is spoken).

usage: hostile_server.py MODE [URL]   (prints "LISTENING <port>", then "CONNECTION" for each
                                       connection accepted; serves until killed)
  redirect URL: answers every handshake with 302 Found, Location: URL, and waits for the
                client to hang up (or to follow the redirect elsewhere).
  silent:       accepts the WebSocket handshake, then never sends a frame (reads and drops
                what comes): an obs-websocket that never says Hello.
"""
import base64
import hashlib
import socket
import sys
import threading

WEBSOCKET_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_websocket(conn: socket.socket, request: bytes) -> None:
    """The 101 answer to `request`'s handshake (RFC 6455 section 4.2.2)."""
    key = b""
    for line in request.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    accept = base64.b64encode(hashlib.sha1(key + WEBSOCKET_GUID).digest())
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")


def serve(conn: socket.socket, mode: str, location: str) -> None:
    with conn:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        if mode == "silent":
            accept_websocket(conn, request)
            try:
                while conn.recv(65536):
                    pass
            except OSError:
                pass
            return
        conn.sendall(f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode())
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if not ((mode == "redirect" and len(sys.argv) == 3) or (mode == "silent" and len(sys.argv) == 2)):
        sys.exit(__doc__)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(f"LISTENING {listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        print("CONNECTION", flush=True)
        threading.Thread(target=serve, args=(conn, mode, sys.argv[2] if mode == "redirect" else ""), daemon=True).start()


if __name__ == "__main__":
    main()
