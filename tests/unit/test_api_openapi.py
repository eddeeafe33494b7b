"""The OpenAPI document is complete: every operation has a summary, its roles, bearer security
(except public routes), problem+json error answers, and the request bodies carry examples."""

from __future__ import annotations

from api.app import create_app
from api.auth import PERMISSIONS, PUBLIC
from api.settings import Settings


def test_openapi_document_is_complete(tmp_path):
    doc = create_app(Settings(state_dir=tmp_path)).openapi()
    ops = {(m.upper(), p): op for p, item in doc["paths"].items() for m, op in item.items()}
    assert set(ops) == set(PERMISSIONS) - {("GET", "/openapi.json")}
    assert doc["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from `crumbgraph users add`.",
    }
    for key, op in ops.items():
        assert op.get("summary"), key
        public = PERMISSIONS[key] is PUBLIC
        assert (op.get("security") == []) == public, key
        if not public:
            assert set(op["x-roles"]) == set(PERMISSIONS[key]), key
            assert "application/problem+json" in op["responses"]["403"]["content"], key
        for code, resp in op["responses"].items():
            if code[0] in "45":
                assert list(resp.get("content", {})) == ["application/problem+json"], (key, code)
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if body:
            name = body["$ref"].rsplit("/", 1)[1]
            schema = doc["components"]["schemas"][name]
            assert schema.get("examples") or all(
                "examples" in f for f in schema["properties"].values() if f.get("default", 1) is not None
            ), (key, name)
