//! How each route describes itself in the OpenAPI document: the [`Describe`] steps a route adds
//! beside its handler (its errors, extra responses, links), and what the extractors and the error
//! type contribute on their own ([`AppJson`]: a bad body; the session extractors: the cookie's
//! security requirement and its two failures). Routes use this module; `openapi` assembles the
//! document from the routes.

use aide::generate::GenContext;
use aide::openapi::{
    Link, LinkOperation, MediaType, Operation, ReferenceOr, Response, SchemaObject, StatusCode,
};
use aide::transform::TransformOperation;
use aide::{OperationInput, OperationOutput};
use contracts::{ApiErrorBody, codes};
use schemars::JsonSchema;
use serde_json::Value;

use crate::error::{ApiError, AppJson};
use crate::extract::{Client, CurrentSession, SessionCookie};

/// Name of the session cookie's security scheme.
pub const SESSION_SCHEME: &str = "sessionCookie";

/// The `{"error", "code"}` response, described by the codes it carries.
pub fn error_response(ctx: &mut GenContext, description: String) -> Response {
    let mut response = Response {
        description,
        ..Response::default()
    };
    response.content.insert(
        "application/json".into(),
        MediaType {
            schema: Some(SchemaObject {
                json_schema: ctx.schema.subschema_for::<ApiErrorBody>(),
                example: None,
                external_docs: None,
            }),
            ..MediaType::default()
        },
    );
    response
}

/// Adds error `code` at `status` to an operation, beside the codes already documented there.
pub fn add_error(
    ctx: &mut GenContext,
    operation: &mut Operation,
    status: u16,
    code: &str,
    when: &str,
) {
    let line = format!("`{code}`: {when}");
    let responses = &mut operation
        .responses
        .get_or_insert_with(Default::default)
        .responses;
    match responses.get_mut(&StatusCode::Code(status)) {
        Some(ReferenceOr::Item(existing)) if !existing.description.contains(&line) => {
            existing.description = format!("{}; {line}", existing.description);
        }
        Some(_) => {}
        None => {
            responses.insert(
                StatusCode::Code(status),
                ReferenceOr::Item(error_response(ctx, line)),
            );
        }
    }
}

/// What a route says about itself beyond what aide infers from its handler.
pub trait Describe: Sized {
    /// Errors the handler itself returns: (status, code, when).
    fn errors(self, errors: &[(u16, &str, &str)]) -> Self;
    /// A response the handler's type says nothing about: status, its media types (none: no body)
    /// and what it means.
    fn answers(self, status: u16, media_types: &[&str], description: &str) -> Self;
    /// A response whose body is `T` as JSON, at a status other than the inferred 200.
    fn answers_json<T: JsonSchema>(self, status: u16, description: &str) -> Self;
    /// A second media type for the request body, with schema `T` (a form beside JSON).
    fn also_accepts<T: JsonSchema>(self, media_type: &str) -> Self;
    /// An OpenAPI link from this operation's `status` response to operation `target`, with the
    /// target's parameters taken from runtime expressions (e.g. `$response.body#/jobId`).
    fn link(self, status: u16, target: &str, parameters: &[(&str, &str)]) -> Self;
}

impl Describe for TransformOperation<'_> {
    fn errors(mut self, errors: &[(u16, &str, &str)]) -> Self {
        let operation = self.inner_mut();
        aide::generate::in_context(|ctx| {
            for (status, code, when) in errors {
                add_error(ctx, operation, *status, code, when);
            }
        });
        self
    }

    fn answers(mut self, status: u16, media_types: &[&str], description: &str) -> Self {
        let mut response = Response {
            description: description.to_owned(),
            ..Response::default()
        };
        for media_type in media_types {
            let schema = if media_type.starts_with("image/") {
                schemars::json_schema!({"type": "string", "format": "binary"})
            } else if *media_type == "text/event-stream" {
                // Each event, as fuzzers and the OpenAPI 3.2 `itemSchema` read a stream: its
                // fields, with the job view as JSON text in `data`.
                schemars::json_schema!({
                    "type": "object",
                    "required": ["event", "data"],
                    "properties": {
                        "event": {"type": "string", "enum": ["stage", "done"]},
                        "id": {"type": "string"},
                        "data": {"type": "string", "contentMediaType": "application/json"}
                    }
                })
            } else {
                schemars::json_schema!({"type": "string"})
            };
            response.content.insert(
                (*media_type).to_owned(),
                MediaType {
                    schema: Some(SchemaObject {
                        json_schema: schema,
                        example: None,
                        external_docs: None,
                    }),
                    ..MediaType::default()
                },
            );
        }
        self.inner_mut()
            .responses
            .get_or_insert_with(Default::default)
            .responses
            .insert(StatusCode::Code(status), ReferenceOr::Item(response));
        self
    }

    fn answers_json<T: JsonSchema>(mut self, status: u16, description: &str) -> Self {
        let operation = self.inner_mut();
        aide::generate::in_context(|ctx| {
            let mut response = Response {
                description: description.to_owned(),
                ..Response::default()
            };
            response.content.insert(
                "application/json".into(),
                MediaType {
                    schema: Some(SchemaObject {
                        json_schema: ctx.schema.subschema_for::<T>(),
                        example: None,
                        external_docs: None,
                    }),
                    ..MediaType::default()
                },
            );
            operation
                .responses
                .get_or_insert_with(Default::default)
                .responses
                .insert(StatusCode::Code(status), ReferenceOr::Item(response));
        });
        self
    }

    fn also_accepts<T: JsonSchema>(mut self, media_type: &str) -> Self {
        let operation = self.inner_mut();
        if let Some(ReferenceOr::Item(body)) = operation.request_body.as_mut() {
            aide::generate::in_context(|ctx| {
                body.content.insert(
                    media_type.to_owned(),
                    MediaType {
                        schema: Some(SchemaObject {
                            json_schema: ctx.schema.subschema_for::<T>(),
                            example: None,
                            external_docs: None,
                        }),
                        ..MediaType::default()
                    },
                );
            });
        }
        self
    }

    fn link(mut self, status: u16, target: &str, parameters: &[(&str, &str)]) -> Self {
        let responses = &mut self
            .inner_mut()
            .responses
            .get_or_insert_with(Default::default)
            .responses;
        if let Some(ReferenceOr::Item(response)) = responses.get_mut(&StatusCode::Code(status)) {
            response.links.insert(
                target.to_owned(),
                ReferenceOr::Item(Link {
                    description: None,
                    operation: LinkOperation::OperationId(target.to_owned()),
                    request_body: None,
                    parameters: parameters
                        .iter()
                        .map(|(name, expression)| ((*name).to_owned(), Value::from(*expression)))
                        .collect(),
                    server: None,
                    extensions: Default::default(),
                }),
            );
        }
        self
    }
}

/// A JSON body: the schema of `T`, and the envelope for a body that does not fit it.
impl<T: JsonSchema> OperationInput for AppJson<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        axum::Json::<T>::operation_input(ctx, operation);
    }

    fn inferred_early_responses(
        ctx: &mut GenContext,
        _operation: &mut Operation,
    ) -> Vec<(Option<StatusCode>, Response)> {
        vec![
            (
                Some(StatusCode::Code(400)),
                error_response(
                    ctx,
                    format!(
                        "`{}`: the body is not JSON, has a wrong or unknown field, or a value outside its limits",
                        codes::INVALID_REQUEST
                    ),
                ),
            ),
            (
                Some(StatusCode::Code(413)),
                error_response(
                    ctx,
                    format!("`{}`: the body is over 16 KiB", codes::PAYLOAD_TOO_LARGE),
                ),
            ),
            (
                Some(StatusCode::Code(415)),
                error_response(
                    ctx,
                    format!(
                        "`{}`: the body is not sent as application/json",
                        codes::UNSUPPORTED_MEDIA_TYPE
                    ),
                ),
            ),
        ]
    }
}

/// The session cookie: the security requirement, and the two ways a cookie fails.
/// Read from the connection and trusted forwarding headers: nothing to document.
impl OperationInput for Client {}

impl OperationInput for SessionCookie {
    fn operation_input(_ctx: &mut GenContext, operation: &mut Operation) {
        // `{}` beside the scheme: a request without the cookie is answered (404
        // `session_not_found`), not refused as unauthenticated; the cookie names a session.
        let with_cookie = [(SESSION_SCHEME.to_owned(), Vec::new())]
            .into_iter()
            .collect();
        operation.security = vec![with_cookie, Default::default()];
    }

    fn inferred_early_responses(
        ctx: &mut GenContext,
        _operation: &mut Operation,
    ) -> Vec<(Option<StatusCode>, Response)> {
        vec![
            (
                Some(StatusCode::Code(404)),
                error_response(
                    ctx,
                    format!(
                        "`{}`: no session cookie, or its session expired or was dropped",
                        codes::SESSION_NOT_FOUND
                    ),
                ),
            ),
            (
                Some(StatusCode::Code(401)),
                error_response(
                    ctx,
                    format!(
                        "`{}`: the session cookie's signature does not verify",
                        codes::INVALID_SESSION
                    ),
                ),
            ),
        ]
    }
}

impl OperationInput for CurrentSession {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        SessionCookie::operation_input(ctx, operation);
    }

    fn inferred_early_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<StatusCode>, Response)> {
        SessionCookie::inferred_early_responses(ctx, operation)
    }
}

/// Each route documents the errors it returns ([`Describe::errors`]); the type alone says nothing.
impl OperationOutput for ApiError {
    type Inner = ApiErrorBody;
}
