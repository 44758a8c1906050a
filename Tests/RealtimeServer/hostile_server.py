#!/usr/bin/env python3
"""A server on the Realtime URL that answers the WebSocket handshake the way no real backend
should: for captiontap's client hardening tests (a fake that injects a fault the real service
cannot be made to produce; plain HTTP/1.1, nothing else is spoken).

usage: hostile_server.py redirect URL   (prints "LISTENING <port>", then "CONNECTION" for each
                                         connection accepted; serves until killed)
  redirect URL: answers every handshake with 302 Found, Location: URL, and waits for the
                client to hang up (or to follow the redirect elsewhere).
"""
import socket
import sys
import threading


def serve(conn: socket.socket, location: str) -> None:
    with conn:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        conn.sendall(f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode())
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] != "redirect":
        sys.exit(__doc__)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(f"LISTENING {listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        print("CONNECTION", flush=True)
        threading.Thread(target=serve, args=(conn, sys.argv[2]), daemon=True).start()


if __name__ == "__main__":
    main()
