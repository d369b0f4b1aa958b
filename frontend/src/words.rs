//! What the page says: stage words and announcements, checks and counters for the text fields,
//! ratio names and the quota line.
//!
//! Pure functions over the `contracts` types, unit-tested natively like [`crate::flow`]; the
//! screens only place these words.

use contracts::format::hours_minutes;
use contracts::{AspectRatio, JobStatus, QuotaView};

/// The words for a job stage, as the Generating screen and the live region say them.
pub fn stage_label(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Queued => "Getting ready",
        JobStatus::Synthesizing => "Writing your prompt",
        JobStatus::Rendering => "Rendering the image",
        JobStatus::Succeeded => "Your image is ready",
        JobStatus::Failed => "The image could not be made",
    }
}

/// The live-region sentence for a stage after `elapsed_secs`.
pub fn stage_announcement(status: JobStatus, elapsed_secs: u64) -> String {
    let unit = if elapsed_secs == 1 {
        "second"
    } else {
        "seconds"
    };
    format!("{}… {elapsed_secs} {unit}", stage_label(status))
}

/// What is wrong with an idea before it is sent, if anything.
pub fn idea_problem(idea: &str, max_chars: usize) -> Option<String> {
    let trimmed = idea.trim();
    let chars = trimmed.chars().count();
    if trimmed.is_empty() {
        Some("Describe your idea in a few words.".to_owned())
    } else if chars > max_chars {
        Some(format!(
            "Your idea is {chars} characters long; the limit is {max_chars}. Shorten it by {}.",
            chars - max_chars
        ))
    } else {
        None
    }
}

/// What is wrong with an answer before it is sent, if anything. Empty answers go to the server,
/// which re-asks with the hint (that is its job, not the page's).
pub fn answer_problem(answer: &str, max_chars: usize) -> Option<String> {
    let chars = answer.trim().chars().count();
    (chars > max_chars).then(|| {
        format!(
            "Your answer is {chars} characters long; the limit is {max_chars}. Shorten it by {}.",
            chars - max_chars
        )
    })
}

/// The counter under a text field, e.g. `12 / 500 characters`.
pub fn char_counter(text: &str, max_chars: usize) -> String {
    format!("{} / {max_chars} characters", text.chars().count())
}

/// How the aspect-ratio picker names a ratio, e.g. `16:9 (landscape)`.
pub fn ratio_label(ratio: AspectRatio) -> String {
    let (w, h) = ratio.parts();
    let shape = match w.cmp(&h) {
        std::cmp::Ordering::Greater => "landscape",
        std::cmp::Ordering::Less => "portrait",
        std::cmp::Ordering::Equal => "square",
    };
    format!("{} ({shape})", ratio.as_str())
}

/// The line by the Generate button: how many live images are left today, or when they come back.
/// `None` when the server has no limits (offline previews are never counted).
pub fn quota_line(quota: &QuotaView) -> Option<String> {
    let left = match (quota.session_left, quota.global_left) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => return None,
    };
    Some(match left {
        0 => format!(
            "Today's image limit is reached; it resets in {}.",
            hours_minutes(quota.resets_in_secs)
        ),
        1 => "1 image left today.".to_owned(),
        n => format!("{n} images left today."),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::poll_wait_secs;

    #[test]
    fn the_quota_line_shows_the_tighter_limit() {
        let q = |session_left, global_left| QuotaView {
            session_left,
            global_left,
            resets_in_secs: 3 * 3600 + 120,
        };
        assert_eq!(quota_line(&q(None, None)), None);
        assert_eq!(
            quota_line(&q(Some(5), Some(2))).as_deref(),
            Some("2 images left today.")
        );
        assert_eq!(
            quota_line(&q(Some(1), None)).as_deref(),
            Some("1 image left today.")
        );
        assert_eq!(
            quota_line(&q(Some(0), Some(9))).as_deref(),
            Some("Today's image limit is reached; it resets in 3 h 2 min.")
        );
    }

    #[test]
    fn stages_have_words_and_polls_wait_longer_once_rendering() {
        assert_eq!(stage_label(JobStatus::Synthesizing), "Writing your prompt");
        assert_eq!(stage_label(JobStatus::Rendering), "Rendering the image");
        assert!(poll_wait_secs(JobStatus::Synthesizing) < poll_wait_secs(JobStatus::Rendering));
        assert_eq!(
            stage_announcement(JobStatus::Rendering, 1),
            "Rendering the image… 1 second"
        );
        assert_eq!(
            stage_announcement(JobStatus::Synthesizing, 4),
            "Writing your prompt… 4 seconds"
        );
    }

    #[test]
    fn ratios_are_named_by_shape() {
        assert_eq!(ratio_label(AspectRatio::Landscape16x9), "16:9 (landscape)");
        assert_eq!(ratio_label(AspectRatio::Portrait9x16), "9:16 (portrait)");
        assert_eq!(ratio_label(AspectRatio::Square), "1:1 (square)");
    }

    #[test]
    fn ideas_are_checked_before_they_are_sent() {
        assert!(idea_problem("", 500).is_some());
        assert!(idea_problem("   ", 500).is_some());
        assert_eq!(idea_problem("a lighthouse", 500), None);
        let long = "é".repeat(501);
        let problem = idea_problem(&long, 500).expect("too long");
        assert!(
            problem.contains("501") && problem.contains("by 1"),
            "{problem}"
        );
        assert_eq!(
            idea_problem(&"é".repeat(500), 500),
            None,
            "counts characters, not bytes"
        );
    }

    #[test]
    fn answers_may_be_empty_but_not_too_long() {
        assert_eq!(answer_problem("", 300), None);
        assert!(answer_problem(&"x".repeat(301), 300).is_some());
        assert_eq!(char_counter("héllo", 300), "5 / 300 characters");
    }
}
