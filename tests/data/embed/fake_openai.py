#!/usr/bin/env python3
"""A loopback OpenAI-compatible embeddings server for tests (tests/cli/test_embed_static.sh).

Usage: fake_openai.py PORT_FILE [DIM]
Listens on 127.0.0.1 on an ephemeral port, writes the port to PORT_FILE, and answers
POST /v1/embeddings {"model", "input": [...]} with vectors v[j] = len(text) + j / 10, items in
reverse order (clients must place them by "index"). Input "fail-500" answers HTTP 500.
Runs until killed."""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

DIM = int(sys.argv[2]) if len(sys.argv) > 2 else 4


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        if self.path != "/v1/embeddings":
            return self.send(404, {"error": {"message": "no such route"}})
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        texts = req["input"]
        if "fail-500" in texts:
            return self.send(500, {"error": {"message": "model crashed"}})
        data = [{"object": "embedding", "index": i,
                 "embedding": [len(t) + j / 10 for j in range(DIM)]}
                for i, t in enumerate(texts)]
        self.send(200, {"object": "list", "data": data[::-1], "model": req["model"]})


server = HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
