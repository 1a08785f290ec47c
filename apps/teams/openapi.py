"""The management API's OpenAPI schema, finished so a fuzzer can trust it (drf-spectacular postprocessing hook).

drf-spectacular describes the request bodies and query strings from the serializers. This hook adds what it
cannot see: every operation may answer an error in OpenAI's shape with 400, 401, 403 or 404; bodies take no
field they do not list (the serializers refuse unknown ones); a 200 is LiteLLM's answer for that path, any
JSON (`/global/spend/report?format=csv` also CSV). The schema's own path is left out: it is not part of the API.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema

SCHEMA_PATH = "/management/openapi.json"

ERROR = {
    "type": "object", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {
        "type": "object", "required": ["message", "type", "param", "code"], "additionalProperties": False,
        "properties": {"message": {"type": "string"}, "type": {"type": "string"},
                       "param": {"type": "string", "nullable": True}, "code": {"type": "string", "nullable": True}}}}}
ERRORS = {"400": "The body or query is invalid, or names something that does not exist.",
          "401": "No key, or an unknown, blocked or expired one.",
          "403": "The key's role may not do this.",
          "404": "Not found, or not visible to this key."}
ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def finish_operation(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    answer = responses.setdefault("200", {"description": ""})
    content = answer.setdefault("content", {})
    content["application/json"] = {"schema": {}}
    if any(param.get("name") == "format" for param in operation.get("parameters", ())):
        content["text/csv"] = {"schema": {"type": "string"}}  # `format=csv`
    answer["description"] = answer.get("description") or "LiteLLM's answer for this path."
    for status, text in ERRORS.items():
        responses[status] = {"description": text, "content": ERROR_REF}


def closed(schema: dict[str, Any]) -> None:
    """Request bodies refuse unknown fields: say so, so generated bodies are ones the API accepts."""
    if schema.get("type") == "object" and "properties" in schema:
        schema.setdefault("additionalProperties", False)


def postprocess(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular's POSTPROCESSING_HOOKS entry."""
    result["paths"].pop(SCHEMA_PATH, None)
    for operations in result["paths"].values():
        for operation in operations.values():
            finish_operation(operation)
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for schema in schemas.values():
        closed(schema)
    schemas["Error"] = ERROR
    return result


class MembersFieldSchema(OpenApiSerializerFieldExtension):  # type: ignore[misc]
    """`member`: one member object or a list of them."""

    target_class = "apps.teams.serializers.fields.MembersField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        child = auto_schema.resolve_serializer(self.target.child_class, direction).ref
        return {"oneOf": [child, {"type": "array", "items": child}]}


class ManagementSchema(AutoSchema):  # type: ignore[misc]
    """The default schema class: a view served at a path with a parameter too (`/key/{key}/regenerate`,
    `/model/{model_id}/update`) gets its own operation id there instead of a numbered duplicate."""

    def get_operation_id(self) -> str:
        operation_id = str(super().get_operation_id())
        return f"{operation_id}_by_path" if "{" in self.path else operation_id
