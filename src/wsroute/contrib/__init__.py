"""Built-in middleware that needs nothing but the core."""

from wsroute.contrib.ratelimit import RateLimitMiddleware, parse_rate

__all__ = ["RateLimitMiddleware", "parse_rate"]
