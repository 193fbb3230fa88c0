//! The OpenAPI 3.1 document of an app's ingest API (`GET /openapi.json`, the `openapi`
//! subcommand): one `POST` per ingest path, request schemas derived from the data models'
//! columns, and every answer the router can give with its JSON error schema.

use serde_json::{Map, Value, json};

use super::error::ACCEPTED_CONTENT_TYPES;
use super::router::IngestRoute;
use crate::schema::{Column, ColumnType};

/// The OpenAPI 3.1 document for `routes`; `bearer`: the routes need
/// `Authorization: Bearer <token>` (MOOSE_INGEST_TOKEN is set).
pub fn openapi_document(routes: &[IngestRoute], bearer: bool) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert("Error".into(), error_schema());
    for route in routes {
        let model = route.codec.name;
        schemas
            .entry(model.to_owned())
            .or_insert_with(|| model_schema(&(route.codec.columns)()));
        for url in route.urls() {
            paths.insert(
                url.clone(),
                json!({ "post": operation(route, &url, bearer) }),
            );
        }
    }
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": crate::plan::app_name(),
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Ingest APIs: each POST validates its records against the data model and answers 200 once they are durable in the stream.",
        },
        "paths": paths,
        "components": { "schemas": schemas },
    });
    if bearer {
        document["components"]["securitySchemes"] =
            json!({ "bearer": { "type": "http", "scheme": "bearer" } });
        document["security"] = json!([{ "bearer": [] }]);
    }
    document
}

/// The `POST` of one ingest path.
fn operation(route: &IngestRoute, url: &str, bearer: bool) -> Value {
    let model = route.codec.name;
    let reference = json!({ "$ref": format!("#/components/schemas/{model}") });
    let one_or_many = json!({
        "oneOf": [
            reference,
            { "type": "array", "items": reference, "minItems": 1 },
        ]
    });
    let error = |description: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
        })
    };
    let mut ok_properties = json!({ "ingested": { "type": "integer", "minimum": 0 } });
    if route.dead_letter.is_some() {
        ok_properties["dead_lettered"] = json!({ "type": "integer", "minimum": 0 });
        ok_properties["records"] = json!({ "type": "array" });
    }
    let mut responses = json!({
        "200": {
            "description": "Every record (or, with a dead-letter queue, every valid one) is durable in the stream.",
            "content": { "application/json": { "schema": {
                "type": "object",
                "properties": ok_properties,
                "required": ["ingested"],
            } } },
        },
        "400": error("Malformed JSON, no records, or invalid records (each listed with its index and JSON path); nothing was written."),
        "404": error("No ingest API at this path."),
        "405": error("Only POST is allowed."),
        "408": error("The request body did not arrive in time."),
        "413": error("The request body is larger than the limit."),
        "415": error("The content type is not one of the accepted ones."),
        "503": error("The stream cannot take writes now; retry after `Retry-After` seconds. Nothing was acknowledged."),
    });
    if bearer {
        responses["401"] = error("No bearer token, or one the server does not accept.");
    }
    let declared = route.path() == url;
    let summary = if declared {
        format!("Ingest `{model}` records into stream `{}`", route.topic)
    } else {
        format!(
            "Ingest `{model}` records: the latest version, same as `{}`",
            route.path()
        )
    };
    json!({
        "operationId": format!("ingest_{}", url.trim_start_matches('/').replace(['/', '.', '-'], "_")),
        "summary": summary,
        "requestBody": {
            "required": true,
            "content": {
                (ACCEPTED_CONTENT_TYPES[0]): { "schema": one_or_many },
                (ACCEPTED_CONTENT_TYPES[1]): {
                    "schema": { "$ref": format!("#/components/schemas/{model}"), "description": "One record per line." },
                },
            },
        },
        "responses": responses,
    })
}

/// `{"error": sentence, ...details}`, as every refusal answers.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "error": { "type": "string", "description": "What was wrong and what to do." },
            "records": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": { "type": "integer", "minimum": 0 },
                        "line": { "type": "integer", "minimum": 1 },
                        "path": { "type": "string" },
                        "message": { "type": "string" },
                    },
                    "required": ["index", "path", "message"],
                },
            },
        },
        "required": ["error"],
    })
}

/// The JSON schema of one record of a model: its columns by wire name, the non-nullable
/// ones required.
pub fn model_schema(columns: &[Column]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for column in columns {
        let mut schema = type_schema(&column.ty);
        if let (Some(comment), Value::Object(map)) = (&column.comment, &mut schema) {
            map.insert("description".into(), json!(comment));
        }
        properties.insert(column.name.clone(), schema);
        if !column.ty.is_nullable() && column.default.is_none() {
            required.push(column.name.clone());
        }
    }
    json!({ "type": "object", "properties": properties, "required": required })
}

/// The JSON values ingest accepts for a column of `ty`.
fn type_schema(ty: &ColumnType) -> Value {
    use ColumnType as T;
    let integer =
        |min: i128, max: i128| json!({ "type": "integer", "minimum": min, "maximum": max });
    match ty {
        T::Bool => json!({ "type": "boolean" }),
        T::Int8 => integer(i8::MIN.into(), i8::MAX.into()),
        T::Int16 => integer(i16::MIN.into(), i16::MAX.into()),
        T::Int32 => integer(i32::MIN.into(), i32::MAX.into()),
        T::Int64 => integer(i64::MIN.into(), i64::MAX.into()),
        T::UInt8 => integer(0, u8::MAX.into()),
        T::UInt16 => integer(0, u16::MAX.into()),
        T::UInt32 => integer(0, u32::MAX.into()),
        T::UInt64 => integer(0, u64::MAX.into()),
        // JSON numbers beyond 64 bits are not parsed exactly by most clients either.
        T::Int128 | T::UInt128 => json!({ "type": "integer" }),
        T::Float32 => json!({ "type": "number", "minimum": f32::MIN, "maximum": f32::MAX }),
        T::Float64 => json!({ "type": "number" }),
        T::String => json!({ "type": "string" }),
        T::FixedString(n) => json!({ "type": "string", "maxLength": n }),
        T::Date | T::Date32 => json!({ "type": "string", "format": "date" }),
        T::DateTime | T::DateTime64 { .. } => json!({ "type": "string", "format": "date-time" }),
        T::Uuid => json!({ "type": "string", "format": "uuid" }),
        T::Decimal { .. } => json!({ "type": ["string", "number"] }),
        T::IPv4 => json!({ "type": "string", "format": "ipv4" }),
        T::IPv6 => json!({ "type": "string", "format": "ipv6" }),
        T::Json => json!({}),
        T::Enum { variants, .. } => {
            json!({ "enum": variants.iter().map(|(name, _)| name).collect::<Vec<_>>() })
        }
        T::Nullable(inner) => json!({ "anyOf": [type_schema(inner), { "type": "null" }] }),
        T::Array(inner) => json!({ "type": "array", "items": type_schema(inner) }),
        T::Map(_, value) => json!({ "type": "object", "additionalProperties": type_schema(value) }),
        T::Tuple(fields) => {
            let properties: Map<String, Value> = fields
                .iter()
                .map(|(name, ty)| (name.clone(), type_schema(ty)))
                .collect();
            let required: Vec<&String> = fields
                .iter()
                .filter(|(_, ty)| !ty.is_nullable())
                .map(|(name, _)| name)
                .collect();
            json!({ "type": "object", "properties": properties, "required": required })
        }
        T::LowCardinality(inner) => type_schema(inner),
        T::Custom { encode_as, .. } => type_schema(encode_as),
    }
}
