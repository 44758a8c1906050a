#!/usr/bin/env python3
"""A minimal obs-websocket v5 client for the OBS tests, independent of captiontap's own.

    obs_request.py URL PASSWORD REQUEST_TYPE [REQUEST_DATA_JSON]

Connects, authenticates (Hello -> Identify -> Identified), sends one request (op 6) and prints
its response (op 7) as one JSON line: {"requestStatus": {...}, "responseData": {...}}.
Exits 3 if OBS closes the connection during authentication (prints the close code).
Runs in the test venv (websockets).
"""
import asyncio
import base64
import hashlib
import json
import sys

import websockets


def auth_string(password: str, salt: str, challenge: str) -> str:
    secret = base64.b64encode(hashlib.sha256((password + salt).encode()).digest()).decode()
    return base64.b64encode(hashlib.sha256((secret + challenge).encode()).digest()).decode()


async def main() -> int:
    url, password, request_type = sys.argv[1:4]
    data = json.loads(sys.argv[4]) if len(sys.argv) > 4 else None
    async with websockets.connect(url, subprotocols=["obswebsocket.json"], open_timeout=5) as ws:
        try:
            hello = json.loads(await ws.recv())
            identify = {"rpcVersion": 1, "eventSubscriptions": 0}
            auth = hello["d"].get("authentication")
            if auth:
                identify["authentication"] = auth_string(password, auth["salt"], auth["challenge"])
            await ws.send(json.dumps({"op": 1, "d": identify}))
            identified = json.loads(await ws.recv())
            assert identified["op"] == 2, identified
            request = {"requestType": request_type, "requestId": "1"}
            if data is not None:
                request["requestData"] = data
            await ws.send(json.dumps({"op": 6, "d": request}))
            while True:
                message = json.loads(await ws.recv())
                if message["op"] == 7 and message["d"].get("requestId") == "1":
                    d = message["d"]
                    print(json.dumps({"requestStatus": d["requestStatus"], "responseData": d.get("responseData", {})}))
                    return 0
        except websockets.ConnectionClosed as closed:
            print(json.dumps({"closed": closed.rcvd.code if closed.rcvd else None}))
            return 3


if __name__ == "__main__":
    sys.exit(asyncio.run(asyncio.wait_for(main(), 10)))
