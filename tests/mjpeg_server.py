"""A network camera for tests: a real HTTP server on loopback streaming MJPEG (multipart JPEG
frames, as IP cameras do), that can be stopped (open connections are closed, as when a camera
loses power) and started again on the same port."""

from __future__ import annotations

import http.server
import socket
import threading
import time

import cv2
import numpy as np


class MjpegCamera:
    def __init__(self, frames: list[np.ndarray], fps: float = 15.0, port: int = 0,
                 loop: bool = True) -> None:
        self.jpegs = [cv2.imencode(".jpg", f)[1].tobytes() for f in frames]
        self.fps, self.loop = fps, loop
        self.port = port
        self.frames_sent = 0
        self._server: http.server.ThreadingHTTPServer | None = None
        self._running = threading.Event()
        self.frozen = threading.Event()   # set: connections stay open, no frame comes

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def _handler(self):
        cam = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                try:
                    while cam._running.is_set():
                        if cam.frozen.is_set():
                            time.sleep(0.05)
                            continue
                        if i >= len(cam.jpegs):
                            if not cam.loop:
                                break
                            i = 0
                        jpg = cam.jpegs[i]
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                         + f"Content-Length: {len(jpg)}\r\n\r\n".encode()
                                         + jpg + b"\r\n")
                        cam.frames_sent += 1
                        i += 1
                        time.sleep(1.0 / cam.fps)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                # the connection closes here: what a client sees when a camera goes away

            def log_message(self, *args):
                pass

        return Handler

    def start(self) -> "MjpegCamera":
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._running.set()
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop streaming and listening: open streams end, new connections are refused."""
        self._running.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_refused(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return
            time.sleep(0.05)
        raise AssertionError("the camera still accepts connections")
