#!/usr/bin/env python3
"""A loopback OpenAI-compatible chat-completions server for tests and bench/scarcity.

Usage: fake_chat.py PORT_FILE [--capacity N] [--delay SECONDS] [--fail] [--echo]
Listens on 127.0.0.1 on an ephemeral port, writes the port to PORT_FILE, and answers
POST /v1/chat/completions with "According to the sources, <the first 12 words of source 1> [1] [9]."
(source 9 does not exist, so the client's citation check removes it), usage {prompt_tokens =
request bytes // 4, completion_tokens = 20}, streamed as SSE when "stream" is true. Each answer
takes --delay seconds (default 0); more than --capacity requests at once (default unlimited) get
HTTP 429 with Retry-After: 1; --fail answers every request with HTTP 500; --echo answers
with the text of every source joined, then " [1]" (bench/scarcity.sh: the support of such an
answer is that of the context it was sent). Every request is
appended to PORT_FILE.log as one line "status". Runs until killed."""
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = sys.argv[1:]
port_file = args[0]
capacity = 0
delay = 0.0
fail = False
echo = False
i = 1
while i < len(args):
    if args[i] == "--capacity":
        capacity = int(args[i + 1]); i += 2
    elif args[i] == "--delay":
        delay = float(args[i + 1]); i += 2
    elif args[i] == "--fail":
        fail = True; i += 1
    elif args[i] == "--echo":
        echo = True; i += 1
    else:
        sys.exit("unknown option " + args[i])

lock = threading.Lock()
busy = 0


def log(status):
    with lock:
        with open(port_file + ".log", "a") as f:
            f.write("%d\n" % status)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        log(status)

    def do_POST(self):
        global busy
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        if not self.path.endswith("/chat/completions"):
            return self.send(404, {"error": {"message": "no such route"}})
        if fail:
            return self.send(500, {"error": {"message": "GPU on fire"}})
        with lock:
            if capacity and busy >= capacity:
                over = True
            else:
                over = False
                busy += 1
        if over:
            return self.send(429, {"error": {"message": "busy"}}, {"Retry-After": "1"})
        try:
            req = json.loads(raw)
            user = [m["content"] for m in req["messages"] if m["role"] == "user"][0]
            m = re.search(r'<source id="1"[^>]*>\s*(.*?)</source>', user, re.S)
            words = (m.group(1) if m else "nothing").split()[:12]
            text = "According to the sources, " + " ".join(words) + " [1] [9]."
            if echo:
                text = " ".join(re.findall(r'<source id="\d+"[^>]*>\s*(.*?)</source>', user, re.S)) + " [1]"
            usage = {"prompt_tokens": len(raw) // 4, "completion_tokens": 20,
                     "total_tokens": len(raw) // 4 + 20}
            time.sleep(delay)
            if not req.get("stream"):
                return self.send(200, {"id": "x", "object": "chat.completion", "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": "stop"}], "usage": usage})
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            for piece in re.findall(r"\S+\s*", text):
                ev = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                self.wfile.write(b"data: " + json.dumps(ev).encode() + b"\n\n")
                self.wfile.flush()
            self.wfile.write(b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n')
            self.wfile.write(b"data: " + json.dumps({"choices": [], "usage": usage}).encode() + b"\n\n")
            self.wfile.write(b"data: [DONE]\n\n")
            log(200)
        finally:
            with lock:
                busy -= 1


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
