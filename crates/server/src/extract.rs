//! Request extractors for the session: the verified cookie ([`SessionCookie`], or
//! `Option<SessionCookie>` where a missing or forged cookie is not an error), the loaded
//! session ([`CurrentSession`]) and the client address the quotas count ([`Client`]). Each
//! takes only the sub-state it needs (`FromRef`). The cookie's signature is checked once per
//! request ([`verified_cookie`]), by whichever comes first: the rate limiter or an extractor.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use store::SessionId;
use store::sessions::SessionStore;

use crate::client_addr::{client_ip, limit_key};
use crate::config::Settings;
use crate::error::ApiError;
use crate::session::SessionData;
use crate::session::cookie::{CookieProblem, SessionCookies};

/// The session id from a verified cookie; the session itself is not loaded.
pub struct SessionCookie(pub SessionId);

/// The session a request's cookie names, loaded from the store.
pub struct CurrentSession {
    pub id: SessionId,
    pub data: SessionData,
}

/// A request's session cookie as read and verified the first time something asked for it.
#[derive(Clone, Copy)]
struct VerifiedCookie(Result<SessionId, CookieProblem>);

/// The request's session cookie, verified: on the first call it is read from the `Cookie`
/// headers and its HMAC checked, and the outcome kept in the request's extensions, so later calls
/// (the handler's extractor after the rate limiter) only look it up.
pub fn verified_cookie(
    request: &mut axum::extract::Request,
    cookies: &SessionCookies,
) -> Result<SessionId, CookieProblem> {
    if let Some(&VerifiedCookie(found)) = request.extensions().get::<VerifiedCookie>() {
        return found;
    }
    let found = cookies.read(request.headers());
    request.extensions_mut().insert(VerifiedCookie(found));
    found
}

/// [`verified_cookie`] for an extractor.
fn read<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<SessionId, CookieProblem>
where
    SessionCookies: FromRef<S>,
{
    if let Some(&VerifiedCookie(found)) = parts.extensions.get::<VerifiedCookie>() {
        return found;
    }
    let found = SessionCookies::from_ref(state).read(&parts.headers);
    parts.extensions.insert(VerifiedCookie(found));
    found
}

impl<S: Send + Sync> FromRequestParts<S> for SessionCookie
where
    SessionCookies: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match read(parts, state) {
            Ok(id) => Ok(SessionCookie(id)),
            Err(CookieProblem::Missing) => Err(ApiError::SessionNotFound),
            Err(CookieProblem::BadSignature) => Err(ApiError::InvalidSession),
        }
    }
}

/// `None` when there is no cookie or its signature does not verify.
impl<S: Send + Sync> OptionalFromRequestParts<S> for SessionCookie
where
    SessionCookies: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, ApiError> {
        Ok(read(parts, state).ok().map(SessionCookie))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentSession
where
    SessionCookies: FromRef<S>,
    SessionStore: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let SessionCookie(id) =
            <SessionCookie as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        let found = SessionStore::from_ref(state)
            .get::<SessionData>(&id)
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        match found {
            Some(found) => Ok(CurrentSession {
                id,
                data: found.value,
            }),
            None => Err(ApiError::SessionNotFound),
        }
    }
}

/// The client a request comes from, as the per-client quota counts it: the IPv4 address or the
/// IPv6 /64 (`client_addr`), forwarded addresses believed only from `TRUSTED_PROXIES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Client(pub IpAddr);

impl Client {
    /// The client as the store counts it: `192.0.2.7`, or `2001:db8:1:2::/64`. Written only when
    /// the store is asked, not for the copies of the quota this instance keeps.
    pub fn key(&self) -> String {
        match self.0 {
            key @ IpAddr::V4(_) => key.to_string(),
            key @ IpAddr::V6(_) => format!("{key}/64"),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Client
where
    Arc<Settings>: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| *addr);
        let settings = Arc::<Settings>::from_ref(state);
        let ip = client_ip(&parts.headers, peer, &settings.session.trusted_proxies);
        Ok(Client(limit_key(ip)))
    }
}
