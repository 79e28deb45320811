"""OpenAPI: every operation documents the error answers it can give, in the shape of core.api.

A drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) adds, wherever a view has
not described them itself:

- 400 `ValidationError` ({"field": ["message", ...]} or {"detail": "..."}) to every operation: query
  parameters (page_size, filters) and bodies are validated;
- 401 and 403 `Error` to operations that take credentials;
- 404 `Error` to every operation (an unknown or foreign object, a page past the end);
- 413 `Error` to operations with a body; 429 `Error` to every operation (rate limits).
"""

ERROR = {
    "type": "object",
    "description": "An error: a human-readable `detail` (in the request's language) and sometimes a `code`.",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
    "required": ["detail"],
}
VALIDATION_ERROR = {
    "type": "object",
    "description": "Field errors, `{\"field\": [\"message\", ...]}` (nested for nested fields; "
                   "`non_field_errors` for the whole body), or `{\"detail\": \"...\"}` for a body that is not JSON.",
    "additionalProperties": {},
}
DESCRIPTIONS = {
    "400": "Invalid input: the body or a query parameter.",
    "401": "No credentials, or the token is invalid or has expired.",
    "403": "Signed in, but not allowed to do this.",
    "404": "Not found, or not yours.",
    "413": "The body is over the size limit.",
    "429": "Too many requests: slow down (see `Retry-After`).",
}
METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _response(code: str, schema: str) -> dict:
    return {"description": DESCRIPTIONS[code], "content": {"application/json": {"schema": _ref(schema)}}}


def _takes_credentials(operation: dict, default_security: list | None) -> bool:
    security = operation.get("security", default_security) or []
    return any(requirement for requirement in security)


def add_error_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("ValidationError", VALIDATION_ERROR)
    default_security = result.get("security")
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in METHODS or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            wanted = {"400": "ValidationError", "404": "Error", "429": "Error"}
            if _takes_credentials(operation, default_security):
                wanted.update({"401": "Error", "403": "Error"})
            if "requestBody" in operation:
                wanted["413"] = "Error"
            for code, schema in wanted.items():
                responses.setdefault(code, _response(code, schema))
    return result
