//! What the benchmarks share: their knobs from the environment, and a person's session taken
//! to `ready` over HTTP the way a script would.

use reqwest::Client;
use reqwest::header::{COOKIE, SET_COOKIE};

/// A numeric knob from the environment, or its default.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Starts a session on the general template and answers its three questions; returns the
/// session cookie (`name=value`).
pub async fn ready_session(client: &Client, base: &str) -> String {
    let started = client
        .post(format!("{base}{}", contracts::paths::SESSION_START))
        .json(&serde_json::json!({
            "templateId": "general-cinematic",
            "initialInput": "a lighthouse keeper feeding a stray cat"
        }))
        .send()
        .await
        .expect("start");
    assert!(started.status().is_success(), "{}", started.status());
    let cookie = started
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("refinery_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    for answer in [
        "a storm-lashed island at dusk",
        "tense, cold blue light",
        "wide shot, low angle",
    ] {
        let answered = client
            .post(format!("{base}{}", contracts::paths::SESSION_ANSWER))
            .header(COOKIE, &cookie)
            .json(&serde_json::json!({"answer": answer}))
            .send()
            .await
            .expect("answer");
        assert!(answered.status().is_success(), "{}", answered.status());
    }
    cookie
}
