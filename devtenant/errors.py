"""Auth0-shaped error bodies and responses."""

from __future__ import annotations

from http import HTTPStatus

from starlette.responses import JSONResponse


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def api_error_body(status: int, message: str | None = None, error_code: str | None = None, **extra) -> dict:
    body = {"statusCode": status, "error": phrase(status), "message": message or phrase(status)}
    if error_code:
        body["errorCode"] = error_code
    body.update(extra)
    return body


def api_error(
    status: int, message: str | None = None, error_code: str | None = None, **extra
) -> JSONResponse:
    return JSONResponse(api_error_body(status, message, error_code, **extra), status_code=status)


def oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)
