//! Turning failed requests into what the person reads and can do next.
//!
//! The page branches on the envelope's stable `code`, never on its message; the message is shown
//! as the server wrote it (it is written for people), with our own words only when there is no
//! envelope at all (the network dropped, or something that is not our server answered).

use contracts::{ApiErrorBody, codes};

/// Why a request to the API did not give the expected body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiClientError {
    /// The server answered with an error envelope.
    Api { status: u16, body: ApiErrorBody },
    /// The server answered with a status but no readable envelope.
    Status(u16),
    /// No answer: offline, server down, or the request was cut.
    Network(String),
    /// A 2xx body that did not match the contract.
    Decode(String),
}

impl ApiClientError {
    /// The envelope's code, if there was one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiClientError::Api { body, .. } => Some(body.code.as_str()),
            _ => None,
        }
    }

    /// True when the server has no session for this browser (never started, expired, or ended
    /// in another tab): the page goes back to the start rather than offering a retry.
    pub fn is_session_gone(&self) -> bool {
        matches!(
            self.code(),
            Some(codes::SESSION_NOT_FOUND | codes::INVALID_SESSION)
        )
    }
}

/// What the person can do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Trying the same thing again may work (network, busy provider, server fault).
    Retry,
    /// The input needs changing; the form stays as it was.
    Edit,
    /// The session is gone: start again (the idea is kept in the field).
    Restart,
    /// The page is out of step with the server: reload the session.
    Reload,
}

/// An error as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    pub message: String,
    pub recovery: Recovery,
}

/// Maps a failed request to a message and a way forward.
pub fn describe(error: &ApiClientError) -> UserError {
    match error {
        ApiClientError::Api { body, .. } => UserError {
            message: body.error.clone(),
            recovery: recovery_for(&body.code),
        },
        ApiClientError::Status(status) => UserError {
            message: format!(
                "The server answered with an unexpected error ({status}). Please try again."
            ),
            recovery: Recovery::Retry,
        },
        ApiClientError::Network(_) => UserError {
            message: "Could not reach Prompt Refinery. Check your connection, then try again."
                .to_owned(),
            recovery: Recovery::Retry,
        },
        ApiClientError::Decode(_) => UserError {
            message: "The server's answer could not be read. Reloading the page may help."
                .to_owned(),
            recovery: Recovery::Reload,
        },
    }
}

/// A failed generation job as the page shows it: always retryable (the answers are kept) unless
/// the content itself was refused, where changing the answers is the way forward.
pub fn describe_job_failure(error: &ApiErrorBody) -> UserError {
    let recovery = match error.code.as_str() {
        codes::CONTENT_BLOCKED | codes::SYNTHESIS_REFUSED => Recovery::Edit,
        _ => Recovery::Retry,
    };
    UserError {
        message: error.error.clone(),
        recovery,
    }
}

/// The reassurance the Failed screen adds under a failed job's message, unless the server's
/// message already says it (decided by the code: [`codes::SAYS_ANSWERS_ARE_KEPT`]).
pub fn answers_kept_note(error: &ApiErrorBody) -> Option<&'static str> {
    (!codes::SAYS_ANSWERS_ARE_KEPT.contains(&error.code.as_str()))
        .then_some("Your answers are kept.")
}

fn recovery_for(code: &str) -> Recovery {
    match code {
        codes::SESSION_NOT_FOUND | codes::INVALID_SESSION => Recovery::Restart,
        codes::INVALID_REQUEST | codes::PAYLOAD_TOO_LARGE | codes::TEMPLATE_NOT_FOUND => {
            Recovery::Edit
        }
        codes::REFINEMENT_COMPLETE
        | codes::REFINEMENT_INCOMPLETE
        | codes::INVALID_STEP
        | codes::JOB_NOT_FOUND => Recovery::Reload,
        // Busy, rate limited, server faults: the same request may work in a moment.
        _ => Recovery::Retry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> ApiClientError {
        ApiClientError::Api {
            status,
            body: ApiErrorBody {
                error: format!("message for {code}"),
                code: code.to_owned(),
            },
        }
    }

    #[test]
    fn envelope_messages_are_shown_as_written_with_a_recovery_by_code() {
        let cases = [
            (404, codes::SESSION_NOT_FOUND, Recovery::Restart),
            (401, codes::INVALID_SESSION, Recovery::Restart),
            (400, codes::INVALID_REQUEST, Recovery::Edit),
            (409, codes::INVALID_STEP, Recovery::Reload),
            (409, codes::SESSION_BUSY, Recovery::Retry),
            (500, codes::INTERNAL, Recovery::Retry),
        ];
        for (status, code, recovery) in cases {
            let shown = describe(&api(status, code));
            assert_eq!(shown.message, format!("message for {code}"));
            assert_eq!(shown.recovery, recovery, "{code}");
        }
    }

    #[test]
    fn only_missing_sessions_send_the_person_back_to_the_start() {
        assert!(api(404, codes::SESSION_NOT_FOUND).is_session_gone());
        assert!(api(401, codes::INVALID_SESSION).is_session_gone());
        assert!(!api(404, codes::JOB_NOT_FOUND).is_session_gone());
        assert!(!ApiClientError::Network("offline".into()).is_session_gone());
    }

    #[test]
    fn errors_without_an_envelope_get_our_own_words() {
        let network = describe(&ApiClientError::Network("TypeError".into()));
        assert_eq!(network.recovery, Recovery::Retry);
        assert!(
            !network.message.contains("TypeError"),
            "no raw browser errors"
        );
        assert_eq!(
            describe(&ApiClientError::Status(502)).recovery,
            Recovery::Retry
        );
        assert_eq!(
            describe(&ApiClientError::Decode("missing field".into())).recovery,
            Recovery::Reload
        );
    }

    #[test]
    fn failed_jobs_are_retryable_unless_the_content_was_refused() {
        let unavailable = ApiErrorBody {
            error: "The image service is unavailable right now.".into(),
            code: codes::PROVIDER_UNAVAILABLE.into(),
        };
        assert_eq!(describe_job_failure(&unavailable).recovery, Recovery::Retry);
        let blocked = ApiErrorBody {
            error: "The image was blocked.".into(),
            code: codes::CONTENT_BLOCKED.into(),
        };
        assert_eq!(describe_job_failure(&blocked).recovery, Recovery::Edit);
    }

    #[test]
    fn the_answers_kept_note_is_added_only_where_the_message_lacks_it() {
        let body = |code: &str| ApiErrorBody {
            error: "Whatever the server wrote.".into(),
            code: code.to_owned(),
        };
        for code in [
            codes::PROVIDER_UNAVAILABLE,
            codes::PROVIDER_TIMEOUT,
            codes::SYNTHESIS_FAILED,
        ] {
            assert_eq!(answers_kept_note(&body(code)), None, "{code}");
        }
        for code in [
            codes::CONTENT_BLOCKED,
            codes::NO_IMAGE,
            codes::RATE_LIMITED,
            "unknown",
        ] {
            assert_eq!(
                answers_kept_note(&body(code)),
                Some("Your answers are kept."),
                "{code}"
            );
        }
    }
}
