//! The OpenAPI 3 document served at `GET /api/openapi.json`, generated from the `contracts` types
//! (their schemars schemas) and the route table below. A test checks the table against the router.

use contracts::{
    AnswerRequest, ApiErrorBody, BackRequest, GenerateRequest, JobView, MetaResponse,
    ResumeResponse, SessionView, StartSessionRequest, TemplatesResponse, paths,
};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

/// Path of the document itself.
pub const OPENAPI_PATH: &str = "/api/openapi.json";

/// What an operation accepts and answers.
struct Operation {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    request: Option<Value>,
    /// (status, description, JSON schema of the body, or None for no body / non-JSON)
    responses: Vec<(u16, &'static str, Option<Value>)>,
    parameters: Value,
    /// Answers with image bytes instead of JSON.
    image: bool,
    needs_session: bool,
}

fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    generator.subschema_for::<T>().to_value()
}

/// Every documented operation: (method, path) pairs, for the coverage test.
pub fn operations() -> Vec<(&'static str, &'static str)> {
    let mut generator = SchemaSettings::openapi3().into_generator();
    table(&mut generator)
        .into_iter()
        .map(|op| (op.method, op.path))
        .collect()
}

fn table(g: &mut SchemaGenerator) -> Vec<Operation> {
    let error = schema::<ApiErrorBody>(g);
    let session = schema::<SessionView>(g);
    let job = schema::<JobView>(g);
    let err = |status: u16, description: &'static str| (status, description, Some(error.clone()));
    let no_params = json!([]);
    let session_errors = [
        err(
            401,
            "invalid_session: the cookie's signature does not verify",
        ),
        err(404, "session_not_found: no session, or it expired"),
    ];
    let body_errors = [
        err(
            400,
            "invalid_request: malformed JSON, wrong or unknown field, limits",
        ),
        err(413, "payload_too_large: body over 16 KiB"),
        err(415, "unsupported_media_type: not application/json"),
    ];
    let with = |mut base: Vec<(u16, &'static str, Option<Value>)>,
                extra: &[(u16, &'static str, Option<Value>)]| {
        base.extend_from_slice(extra);
        base
    };
    vec![
        Operation {
            method: "get",
            path: paths::HEALTHZ,
            summary: "Liveness check (text `ok`)",
            request: None,
            responses: vec![(200, "the server is up", None)],
            parameters: no_params.clone(),
            image: false,
            needs_session: false,
        },
        Operation {
            method: "get",
            path: paths::META,
            summary: "Which providers run (offline or live) and the input limits",
            request: None,
            responses: vec![(200, "server facts", Some(schema::<MetaResponse>(g)))],
            parameters: no_params.clone(),
            image: false,
            needs_session: false,
        },
        Operation {
            method: "get",
            path: OPENAPI_PATH,
            summary: "This document",
            request: None,
            responses: vec![(200, "the OpenAPI document", Some(json!({"type": "object"})))],
            parameters: no_params.clone(),
            image: false,
            needs_session: false,
        },
        Operation {
            method: "get",
            path: paths::TEMPLATES,
            summary: "The templates a session can start from",
            request: None,
            responses: vec![(
                200,
                "templates, first is general-cinematic",
                Some(schema::<TemplatesResponse>(g)),
            )],
            parameters: no_params.clone(),
            image: false,
            needs_session: false,
        },
        Operation {
            method: "post",
            path: paths::SESSION_START,
            summary: "Start a session with a template and an idea; sets the session cookie",
            request: Some(schema::<StartSessionRequest>(g)),
            responses: with(
                vec![(200, "the new session, at question 1", Some(session.clone()))],
                &[body_errors.as_slice(), &[err(404, "template_not_found")]].concat(),
            ),
            parameters: no_params.clone(),
            image: false,
            needs_session: false,
        },
        Operation {
            method: "get",
            path: paths::SESSION,
            summary: "The current session, to resume after a reload",
            request: None,
            responses: with(
                vec![(200, "the session", Some(session.clone()))],
                &session_errors,
            ),
            parameters: no_params.clone(),
            image: false,
            needs_session: true,
        },
        Operation {
            method: "get",
            path: paths::SESSION_RESUME,
            summary: "The current session or null: 200 either way (what the browser app loads first)",
            request: None,
            responses: vec![(
                200,
                "{\"session\": SessionView} or {\"session\": null} (no cookie, expired, or an invalid cookie, which is cleared)",
                Some(schema::<ResumeResponse>(g)),
            )],
            parameters: no_params.clone(),
            image: false,
            needs_session: false,
        },
        Operation {
            method: "delete",
            path: paths::SESSION,
            summary: "Start over: cancel a running job, drop the session and the cookie",
            request: None,
            responses: vec![(204, "dropped (idempotent)", None)],
            parameters: no_params.clone(),
            image: false,
            needs_session: false,
        },
        Operation {
            method: "post",
            path: paths::SESSION_ANSWER,
            summary: "Answer (or skip) the current question",
            request: Some(schema::<AnswerRequest>(g)),
            responses: with(
                vec![(
                    200,
                    "the next question, the same one re-asked, or ready",
                    Some(session.clone()),
                )],
                &[
                    body_errors.as_slice(),
                    &session_errors,
                    &[err(409, "refinement_complete")],
                ]
                .concat(),
            ),
            parameters: no_params.clone(),
            image: false,
            needs_session: true,
        },
        Operation {
            method: "post",
            path: paths::SESSION_BACK,
            summary: "Go back to question n to change answers (later answers become prefill)",
            request: Some(schema::<BackRequest>(g)),
            responses: with(
                vec![(200, "the session at question n", Some(session.clone()))],
                &[
                    body_errors.as_slice(),
                    &session_errors,
                    &[err(409, "invalid_step")],
                ]
                .concat(),
            ),
            parameters: no_params.clone(),
            image: false,
            needs_session: true,
        },
        Operation {
            method: "put",
            path: "/api/session/answers/{n}",
            summary: "Revise answer n (1..3) of a ready session in place; the others are kept",
            request: Some(schema::<AnswerRequest>(g)),
            responses: with(
                vec![(
                    200,
                    "the session, still ready, with answer n revised",
                    Some(session.clone()),
                )],
                &[
                    body_errors.as_slice(),
                    &session_errors,
                    &[
                        err(409, "refinement_incomplete: not all three answered yet; invalid_step: n outside 1..3"),
                        err(422, "answer_too_thin: too sparse to build on; the message carries the hint, nothing changed"),
                    ],
                ]
                .concat(),
            ),
            parameters: json!([
                {"name": "n", "in": "path", "required": true,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 3},
                 "description": "the question whose answer to revise"}
            ]),
            image: false,
            needs_session: true,
        },
        Operation {
            method: "post",
            path: paths::GENERATE,
            summary: "Queue an image (or return the running job)",
            request: Some(schema::<GenerateRequest>(g)),
            responses: with(
                vec![(202, "the queued (or running) job", Some(job.clone()))],
                &[
                    body_errors.as_slice(),
                    &session_errors,
                    &[
                        err(409, "refinement_incomplete"),
                        err(
                            429,
                            "quota_exceeded: today's limit is reached (Retry-After)",
                        ),
                    ],
                ]
                .concat(),
            ),
            parameters: no_params.clone(),
            image: false,
            needs_session: true,
        },
        Operation {
            method: "get",
            path: "/api/generate/{jobId}",
            summary: "A job's progress; `wait` holds the request until it finishes",
            request: None,
            responses: with(
                vec![
                    (200, "the job", Some(job.clone())),
                    err(400, "invalid_request: bad wait"),
                ],
                &[
                    err(401, "invalid_session"),
                    err(404, "session_not_found or job_not_found"),
                ],
            ),
            parameters: json!([
                {"name": "jobId", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "wait", "in": "query", "required": false,
                 "schema": {"type": "integer", "minimum": 0, "maximum": 60},
                 "description": "seconds to wait for the job to finish (capped at 60)"}
            ]),
            image: false,
            needs_session: true,
        },
        Operation {
            method: "get",
            path: "/api/images/{imageId}",
            summary: "Image bytes (the id is an unguessable capability)",
            request: None,
            responses: vec![(200, "the image", None), err(404, "image_not_found")],
            parameters: json!([
                {"name": "imageId", "in": "path", "required": true, "schema": {"type": "string"}}
            ]),
            image: true,
            needs_session: false,
        },
        Operation {
            method: "get",
            path: "/metrics",
            summary: "Prometheus metrics (docs/operations.md)",
            request: None,
            responses: vec![(200, "text exposition", None)],
            parameters: no_params.clone(),
            image: false,
            needs_session: false,
        },
        Operation {
            method: "get",
            path: "/login",
            summary: "The access password's sign-in page (HTML)",
            request: None,
            responses: vec![(200, "the page", None)],
            parameters: no_params.clone(),
            image: false,
            needs_session: false,
        },
        Operation {
            method: "post",
            path: "/login",
            summary: "Sign in with the access password; sets the refinery_access cookie",
            request: Some(json!({
                "type": "object",
                "properties": {"password": {"type": "string"}},
                "required": ["password"],
                "additionalProperties": false
            })),
            responses: vec![
                (204, "signed in (or no password is configured)", None),
                (303, "form sign-in: back to `next`", None),
                err(400, "invalid_request: no password field"),
                err(413, "payload_too_large"),
                err(401, "access_denied: wrong password"),
                err(429, "rate_limited: too many attempts (Retry-After)"),
            ],
            parameters: no_params.clone(),
            image: false,
            needs_session: false,
        },
        Operation {
            method: "post",
            path: "/logout",
            summary: "Forget the access cookie",
            request: None,
            responses: vec![(303, "to /login", None)],
            parameters: no_params.clone(),
            image: false,
            needs_session: false,
        },
    ]
}

/// The whole document.
pub fn document() -> Value {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let operations = table(&mut generator);
    let mut path_items: Map<String, Value> = Map::new();
    for op in operations {
        let mut responses = Map::new();
        for (status, description, body) in op.responses {
            let mut response = json!({"description": description});
            if let Some(schema) = body {
                response["content"] = json!({"application/json": {"schema": schema}});
            } else if op.image && status == 200 {
                response["content"] =
                    json!({"image/png": {"schema": {"type": "string", "format": "binary"}}});
            } else if status == 200 && (op.path == paths::HEALTHZ || op.path == "/metrics") {
                response["content"] = json!({"text/plain": {"schema": {"type": "string"}}});
            } else if status == 200 && op.path == "/login" {
                response["content"] = json!({"text/html": {"schema": {"type": "string"}}});
            }
            responses.insert(status.to_string(), response);
        }
        let mut operation = json!({
            "summary": op.summary,
            "operationId": format!("{}{}", op.method, op.path.replace(['/', '{', '}', '.'], "_")),
            "parameters": op.parameters,
            "responses": responses,
        });
        if let Some(request) = op.request {
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": request}}
            });
        }
        if op.needs_session {
            operation["security"] = json!([{"sessionCookie": []}]);
        }
        let item = path_items
            .entry(op.path.to_owned())
            .or_insert_with(|| json!({}));
        item[op.method] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Prompt Refinery API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Idea → three questions → image. Every error is {\"error\", \"code\"}; see docs/errors.md."
        },
        "paths": path_items,
        "components": {
            "schemas": generator.take_definitions(true),
            "securitySchemes": {
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": crate::session::cookie::COOKIE_NAME}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_path_is_documented() {
        let doc = document();
        for path in [
            paths::HEALTHZ,
            paths::META,
            paths::TEMPLATES,
            paths::SESSION,
            paths::SESSION_START,
            paths::SESSION_ANSWER,
            paths::SESSION_BACK,
            paths::SESSION_RESUME,
            paths::GENERATE,
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} is missing");
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().expect("name");
            assert!(
                schemas.contains_key(name),
                "{name} is referenced but not defined"
            );
        }
        assert!(schemas.contains_key("SessionView") && schemas.contains_key("ApiErrorBody"));
    }
}
