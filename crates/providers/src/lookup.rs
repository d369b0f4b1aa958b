//! Looks a configured model up at its provider: OpenAI `GET {base}/models/{id}` (whose answer
//! carries `shutdown_date`) and Gemini `GET {api}/v1beta/models/{id}` (no date). The server asks
//! once at start, in the background, so an operator hears of a model that is gone or going before
//! a person meets it as `provider_model_unavailable`.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use time::{Date, Month};

/// What the provider says about one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelState {
    /// The model is listed; `shutdown` when the provider has announced its end.
    Listed { shutdown: Option<Date> },
    /// 404: the model does not exist, or this key cannot see it.
    Missing,
}

/// Why a lookup gave no answer (the network, the key, an unreadable body): a short reason for an
/// INFO line, never the provider's own text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LookupFailed(pub String);

/// A client for the lookups: one short timeout, since nobody waits on the answer.
pub fn client(timeout: Duration) -> Result<reqwest::Client, LookupFailed> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| LookupFailed(format!("HTTP client: {e}")))
}

#[derive(Debug, Deserialize)]
struct OpenAiModel {
    #[serde(default)]
    shutdown_date: Option<String>,
}

/// `GET {base_url}/models/{model}` with the bearer key. `base_url` includes `/v1`.
pub async fn openai(
    http: &reqwest::Client,
    base_url: &str,
    key: &SecretString,
    model: &str,
) -> Result<ModelState, LookupFailed> {
    let response = http
        .get(format!("{}/models/{model}", base_url.trim_end_matches('/')))
        .bearer_auth(key.expose_secret())
        .send()
        .await
        .map_err(transport)?;
    match response.status().as_u16() {
        200 => {
            let body = crate::read_capped(response, 64 * 1024)
                .await
                .map_err(|e| LookupFailed(e.to_string()))?;
            let listed: OpenAiModel =
                serde_json::from_slice(&body).map_err(|e| LookupFailed(crate::json_problem(&e)))?;
            let shutdown = match listed.shutdown_date.as_deref() {
                None => None,
                Some(text) => Some(parse_date(text).ok_or_else(|| {
                    LookupFailed(format!(
                        "shutdown_date {:?} is not YYYY-MM-DD",
                        crate::log_token(text)
                    ))
                })?),
            };
            Ok(ModelState::Listed { shutdown })
        }
        404 => Ok(ModelState::Missing),
        other => Err(LookupFailed(format!("HTTP {other}"))),
    }
}

/// `GET {api_url}/v1beta/models/{model}` with `x-goog-api-key`.
pub async fn gemini(
    http: &reqwest::Client,
    api_url: &str,
    key: &SecretString,
    model: &str,
) -> Result<ModelState, LookupFailed> {
    let response = http
        .get(format!(
            "{}/v1beta/models/{model}",
            api_url.trim_end_matches('/')
        ))
        .header("x-goog-api-key", key.expose_secret())
        .send()
        .await
        .map_err(transport)?;
    match response.status().as_u16() {
        200 => Ok(ModelState::Listed { shutdown: None }),
        404 => Ok(ModelState::Missing),
        other => Err(LookupFailed(format!("HTTP {other}"))),
    }
}

fn transport(e: reqwest::Error) -> LookupFailed {
    LookupFailed(if e.is_timeout() {
        "no answer in time".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "the request failed".to_owned()
    })
}

/// `"YYYY-MM-DD"`, as OpenAI writes `shutdown_date`.
pub fn parse_date(text: &str) -> Option<Date> {
    let mut parts = text.trim().splitn(3, '-');
    let year = parts.next()?.parse().ok()?;
    let month = Month::try_from(parts.next()?.parse::<u8>().ok()?).ok()?;
    let day = parts.next()?.parse().ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_dates_are_read_as_calendar_dates() {
        let date = parse_date("2026-12-11").expect("a date");
        assert_eq!(
            (date.year(), date.month(), date.day()),
            (2026, Month::December, 11)
        );
        for bad in ["", "2026-13-01", "2026-02-30", "11 Dec 2026", "2026-12"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
