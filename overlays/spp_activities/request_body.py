"""The body of a create call: the activity's text, or a whole generated ``ActivityCreate``.

Passing the generated model lets a property added to openapi.yaml reach the wire after
``make generate`` with no change to the overlay, typed as far as the model is. Either way
the body is checked against the request schema of the shipped contract (strict writer:
an unknown property or a wrong type is refused) before anything is sent.
"""

from __future__ import annotations

from spp_api.models import ActivityCreate

from .contract import request_body_problem
from .errors import InvalidInputError
from .validation import is_blank

__all__ = ["activity_create"]


def activity_create(content: str | ActivityCreate) -> ActivityCreate:
    """``content`` as the request body, checked against the contract.

    Raises:
        InvalidInputError: (``argument="content"``) the text is not a str or is blank, or
            the model breaks the request schema; nothing was sent.
    """
    if isinstance(content, ActivityCreate):
        body = content
        text: object = body.content
        where = "ActivityCreate.content"
    else:
        body = None
        text = content
        where = "content"
    if not isinstance(text, str):
        raise _invalid(
            f"{where} must be a str"
            + ("" if body is not None else " or a spp_api.models.ActivityCreate")
            + f", got {type(text).__name__}; nothing was sent."
        )
    if is_blank(text):
        raise _invalid(
            f"{where} must contain at least one non-whitespace character; nothing was sent."
        )
    if body is None:
        body = ActivityCreate(content=text)
    try:
        data = body.to_dict()
    except Exception as exc:
        raise _invalid(
            f"ActivityCreate cannot be written as JSON ({type(exc).__name__}: {exc}); "
            "check the types of its fields; nothing was sent."
        ) from None
    try:
        problem = request_body_problem(data)
    except UnicodeEncodeError:
        raise _invalid(
            f"{where} contains characters that cannot be encoded as UTF-8 "
            "(e.g. a lone surrogate); nothing was sent."
        ) from None
    except ValueError as exc:  # jsonschema-rs meets a value JSON has no type for
        raise _invalid(
            f"ActivityCreate holds a value JSON cannot carry ({exc}); nothing was sent."
        ) from None
    if problem is not None:
        path, what = problem
        field = f"ActivityCreate.{path}" if path else "ActivityCreate"
        raise _invalid(f"{field} {what} (openapi.yaml); nothing was sent.")
    return body


def _invalid(message: str) -> InvalidInputError:
    return InvalidInputError(message, argument="content")
