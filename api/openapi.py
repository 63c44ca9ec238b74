"""Request bodies in the OpenAPI document for routes that read their bodies themselves.

The native check and the CDS Hooks routes parse their own bodies (duplicate keys refused, each
API's error shape), so FastAPI cannot see the body models. Their schemas are added to the
document here, where integrators and the schemathesis fuzzing read them; each route points
at its model with `openapi_extra=body("Model")`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

_REF = "#/components/schemas/{model}"


def body(model: str) -> dict[str, Any]:
    """`openapi_extra` for a route whose JSON body is `model` (documented by `document`)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=model)}}},
        }
    }


def document(app: FastAPI, *models: type[BaseModel]) -> None:
    """Add the models' JSON schemas (validation mode, as FastAPI writes request bodies) to
    the document. A nested model whose name another schema already uses under a different
    definition gets FastAPI's own "-Input" suffix, so no reference points at a stranger."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                _add(schemas, model)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(ref_template=_REF)
    defs = schema.pop("$defs", {})
    renames = {
        name: f"{name}-Input"
        for name, sub in defs.items()
        if name in schemas and schemas[name] != sub
    }
    if renames:
        text = json.dumps({"schema": schema, "defs": defs})
        for old, new in renames.items():
            text = text.replace(f'"{_REF.format(model=old)}"', f'"{_REF.format(model=new)}"')
        renamed = json.loads(text)
        schema, defs = renamed["schema"], {renames.get(k, k): v for k, v in renamed["defs"].items()}
    for name, sub in defs.items():
        if schemas.setdefault(name, sub) != sub:
            raise RuntimeError(f"OpenAPI schema {name!r} is defined twice, differently")
    schemas[model.__name__] = schema
