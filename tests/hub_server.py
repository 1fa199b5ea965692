"""A real HTTP server on 127.0.0.1 that answers like the Hugging Face hub for a few tiny repositories.

Enough of the hub's API for the real ``huggingface_hub`` client (no mocks): repository info with file
metadata (``/api/{models,datasets}/ID/revision/REV?blobs=true``) and file downloads
(``[/datasets]/ID/resolve/REV/PATH``, HEAD and GET, with HTTP range requests so interrupted downloads
resume). Files listed as LFS get their SHA-256 in the listing, the others their git blob hash, as on the hub.
``corrupt`` names files whose bytes are served damaged (same size), to prove verification.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"
LFS_SUFFIXES = (".safetensors", ".bin", ".zip", ".csv", ".h5", ".msgpack")


@dataclass
class FakeHub:
    repos: dict[tuple[str, str], dict[str, bytes]]  # (repo_type, repo_id) -> {path: bytes}
    corrupt: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)  # "METHOD path [range]" in arrival order
    server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeHub":
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_HEAD(self):
                self._serve(head=True)

            def do_GET(self):
                self._serve(head=False)

            def _send(self, status: int, body: bytes, headers: dict[str, str], head: bool) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _serve(self, head: bool) -> None:
                path = unquote(urlsplit(self.path).path)
                hub.requests.append(f"{self.command} {path} {self.headers.get('Range', '')}".strip())
                info = re.fullmatch(r"/api/(models|datasets)/([^/]+/[^/]+)(?:/revision/[^/]+)?", path)
                if info:
                    repo_type = "model" if info.group(1) == "models" else "dataset"
                    files = hub.repos.get((repo_type, info.group(2)))
                    if files is None:
                        return self._send(404, b'{"error":"Repository not found"}',
                                          {"X-Error-Code": "RepoNotFound", "Content-Type": "application/json"}, head)
                    body = json.dumps({"id": info.group(2), "sha": COMMIT, "private": False,
                                       "siblings": [_sibling(p, b) for p, b in files.items()]}).encode()
                    return self._send(200, body, {"Content-Type": "application/json"}, head)
                resolve = re.fullmatch(r"/(datasets/)?(.+?)/resolve/([^/]+)/(.+)", path)
                if not resolve:
                    return self._send(404, b"not found", {}, head)
                repo_type = "dataset" if resolve.group(1) else "model"
                files = hub.repos.get((repo_type, resolve.group(2)), {})
                name = resolve.group(4)
                if name not in files:
                    return self._send(404, b"Entry not found", {"X-Error-Code": "EntryNotFound"}, head)
                data = files[name]
                etag = _sha256(data) if name.endswith(LFS_SUFFIXES) else _blob_id(data)
                if name in hub.corrupt:
                    data = bytes(b ^ 0xFF for b in data)
                headers = {"ETag": f'"{etag}"', "X-Repo-Commit": COMMIT, "Accept-Ranges": "bytes",
                           "Content-Type": "application/octet-stream"}
                ranged = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
                if ranged and not head:
                    start = int(ranged.group(1))
                    end = int(ranged.group(2)) if ranged.group(2) else len(data) - 1
                    headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
                    return self._send(206, data[start:end + 1], headers, head)
                return self._send(200, data, headers, head)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()


def _sibling(path: str, data: bytes) -> dict:
    if path.endswith(LFS_SUFFIXES):
        return {"rfilename": path, "size": len(data), "blobId": _blob_id(data[:10]),
                "lfs": {"sha256": _sha256(data), "size": len(data), "pointerSize": 134}}
    return {"rfilename": path, "size": len(data), "blobId": _blob_id(data)}
