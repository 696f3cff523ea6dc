"""pydantic glue: one validator per handler, built when the route is declared."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from wsroute.errors import ConfigError, ValidationFailed

__all__ = ["Validator", "json_safe_errors", "validator_for"]

Validator = Callable[[dict[str, Any]], Any]


def json_safe_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's error list without ``ctx`` (it can hold a raw exception) or doc URLs."""
    return [dict(error) for error in exc.errors(include_url=False, include_context=False)]


def validator_for(schema: object) -> Validator:
    """A callable that validates a decoded message against ``schema`` or raises ``ValidationFailed``.

    ``schema`` is a pydantic model, or any type pydantic's ``TypeAdapter`` accepts
    (a dataclass, a ``TypedDict``).
    """
    validate: Callable[[Any], Any]
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        validate = schema.model_validate
    else:
        try:
            validate = TypeAdapter[Any](schema).validate_python  # type: ignore[arg-type]  # any type pydantic accepts
        except Exception as exc:  # pydantic raises several types for unusable schemas
            raise ConfigError(f"schema {schema!r} is not something pydantic can validate: {exc}") from exc

    def run(content: dict[str, Any]) -> Any:
        try:
            return validate(content)
        except ValidationError as exc:
            errors = json_safe_errors(exc)
            raise ValidationFailed(f"{len(errors)} validation error(s) for {exc.title}", errors) from None

    return run
