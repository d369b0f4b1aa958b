//! The access password's login page: `GET /login` (a small HTML form that works without the SPA),
//! `POST /login` (that form, or JSON `{"password": "..."}` from a script) and `POST /logout`.

use std::net::SocketAddr;

use aide::NoApi;
use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with};
use aide::transform::TransformOperation;
use axum::extract::{ConnectInfo, FromRequest, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use contracts::{ApiErrorBody, codes, paths};
use schemars::JsonSchema;
use serde::Deserialize;
use tower_cookies::{Cookie, Cookies};

use crate::access::{ACCESS_COOKIE, safe_next};
use crate::client_addr::client_ip;
use crate::describe::Describe;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            paths::LOGIN,
            get_with(page, |op| {
                op.id("loginPage")
                    .summary("The access password's sign-in page (HTML)")
            })
            .post_with(login, login_docs),
        )
        .api_route(
            paths::LOGIN_CSS,
            get_with(stylesheet, |op| {
                op.id("loginStylesheet")
                    .summary("The sign-in page's stylesheet")
                    .answers(200, &["text/css"], "the stylesheet")
            }),
        )
        .api_route(
            paths::LOGOUT,
            post_with(logout, |op| {
                op.id("logout")
                    .summary("Forget the access cookie")
                    .answers(303, &[], "to /login")
            }),
        )
}

/// JSON login body (scripts).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LoginJson {
    password: String,
}

/// Form login body (the page).
#[derive(Debug, Deserialize, JsonSchema)]
struct LoginForm {
    password: String,
    /// Where to go after signing in (a path on this site).
    #[serde(default)]
    next: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct NextQuery {
    /// Where to go after signing in (a path on this site).
    next: Option<String>,
}

fn login_docs(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.id("login")
        .summary("Sign in with the access password; sets the refinery_access cookie")
        .description(
            "JSON {\"password\"} from a script (204), or the page's form (303 to `next`). With \
             no ACCESS_PASSWORD set, every password is accepted.",
        )
        .input::<Json<LoginJson>>()
        .also_accepts::<LoginForm>("application/x-www-form-urlencoded")
        .answers(204, &[], "signed in (JSON)")
        .answers(303, &[], "signed in (form): to `next`")
        .errors(&[
            (
                400,
                codes::INVALID_REQUEST,
                "no password, or a body that cannot be read",
            ),
            (
                413,
                codes::PAYLOAD_TOO_LARGE,
                "the JSON body is over 16 KiB",
            ),
            (
                401,
                codes::ACCESS_DENIED,
                "wrong password (the form gets the page again, as HTML)",
            ),
            (
                429,
                codes::RATE_LIMITED,
                "too many sign-in attempts from this address, or from everyone (Retry-After)",
            ),
        ])
}

async fn page(Query(query): Query<NextQuery>) -> Html<String> {
    Html(render(safe_next(query.next.as_deref()), None))
}

async fn stylesheet() -> ([(HeaderName, &'static str); 1], &'static str) {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        LOGIN_CSS,
    )
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    NoApi(cookies): NoApi<Cookies>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (password, next) = if is_json {
        match Json::<LoginJson>::from_request(request, &state).await {
            Ok(Json(body)) => (body.password, None),
            Err(rejection) => return ApiError::from(rejection).into_response(),
        }
    } else {
        match Form::<LoginForm>::from_request(request, &state).await {
            Ok(Form(body)) => (body.password, body.next),
            Err(rejection) => {
                return ApiError::Validation(format!(
                    "The login form could not be read: {}",
                    rejection.body_text()
                ))
                .into_response();
            }
        }
    };

    let Some(gate) = state.access.clone() else {
        // No password configured: everyone is already let in.
        return if is_json {
            StatusCode::NO_CONTENT.into_response()
        } else {
            Redirect::to(safe_next(next.as_deref())).into_response()
        };
    };
    let ip = client_ip(
        &headers,
        Some(peer),
        &state.settings.session.trusted_proxies,
    );
    if let Err(limit) = gate.attempt(ip) {
        tracing::warn!(%ip, "login attempts rate-limited");
        return ApiError::RateLimited {
            what: "sign-in attempts",
            retry_after: limit.retry_after,
        }
        .into_response();
    }
    if !gate.password_matches(&password) {
        tracing::info!(%ip, "login refused: wrong password");
        return if is_json {
            (
                StatusCode::UNAUTHORIZED,
                Json(ApiErrorBody {
                    error: "That password is not right.".into(),
                    code: codes::ACCESS_DENIED.into(),
                }),
            )
                .into_response()
        } else {
            (
                StatusCode::UNAUTHORIZED,
                Html(render(
                    safe_next(next.as_deref()),
                    Some("That password is not right."),
                )),
            )
                .into_response()
        };
    }
    cookies.add(gate.cookie(state.cookies.is_https(&headers)));
    tracing::info!(%ip, "login accepted");
    if is_json {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Redirect::to(safe_next(next.as_deref())).into_response()
    }
}

async fn logout(NoApi(cookies): NoApi<Cookies>) -> Redirect {
    cookies.remove(Cookie::build((ACCESS_COOKIE, "")).path("/").build());
    Redirect::to(paths::LOGIN)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn render(next: &str, error: Option<&str>) -> String {
    let alert = error.map_or_else(String::new, |e| {
        format!(
            r#"<p class="error" role="alert" id="login-error">{}</p>"#,
            escape(e)
        )
    });
    let described_by = if error.is_some() {
        r#" aria-describedby="login-error" aria-invalid="true""#
    } else {
        ""
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Prompt Refinery</title>
<link rel="stylesheet" href="/login.css">
</head>
<body>
<main>
<h1>Prompt Refinery</h1>
<p>This instance is shared with a password. Enter it to continue.</p>
{alert}
<form method="post" action="/login">
<input type="hidden" name="next" value="{next}">
<label for="password">Access password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus{described_by}>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
"#,
        next = escape(next),
    )
}

const LOGIN_CSS: &str = "body{font:16px/1.5 system-ui,sans-serif;background:#f6f5f2;color:#1d1c1a;margin:0}\
main{max-width:24rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 2px 12px #0002}\
h1{font-size:1.5rem;margin-top:0}label{display:block;font-weight:600;margin:1rem 0 .25rem}\
input{width:100%;box-sizing:border-box;padding:.6rem;font:inherit;border:1px solid #6b6862;border-radius:6px}\
button{margin-top:1rem;padding:.6rem 1.2rem;font:inherit;font-weight:600;color:#fff;background:#3d3a8c;border:0;border-radius:6px;cursor:pointer}\
:focus-visible{outline:3px solid #b8560f;outline-offset:2px}.error{color:#9b1c1c;font-weight:600}";
