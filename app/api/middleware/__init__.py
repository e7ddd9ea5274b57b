"""Pure-ASGI middleware, one concern per module, installed by `stack.install_middleware`.

From the outside in:
- `request_id`: the request id (a valid `X-Request-Id`, or a new one) in the logging
  context, in `scope["state"]` and on the response;
- `metrics`: the request counter, the latency histogram and the access-log line;
- `last_resort`: an exception no handler knew about leaves as problem+json (500, or 503
  when the database is unavailable) with the request id, logged, never a trace;
- `body_limit`: a body over `MAX_BODY_BYTES` is refused with 413, one that does not
  arrive in time is answered 408, before a route reads it.
"""
