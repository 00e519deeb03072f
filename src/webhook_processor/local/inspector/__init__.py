"""The live inspector: one page on the local server that shows what arrived, what was stored,
what was published and what is stuck, and lets a person redrive it or send a test event.

``access`` decides who is answered (loopback, or an access token); ``params`` reads and bounds
every input; ``api`` is the JSON under ``/inspector/api/``; ``app`` routes ``GET /``, the assets
(``assets/``, package data: no build step, nothing from elsewhere) and the API.
"""
