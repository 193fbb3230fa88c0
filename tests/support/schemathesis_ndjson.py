"""Teaches schemathesis to send `application/x-ndjson` bodies (one JSON value per line), so
the OpenAPI test covers the NDJSON media type the ingest API documents, not only JSON.
Loaded through SCHEMATHESIS_HOOKS by tests/openapi.rs."""

import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    records = value if isinstance(value, list) else [value]
    return "".join(json.dumps(record) + "\n" for record in records).encode()
