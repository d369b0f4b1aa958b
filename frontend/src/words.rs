//! What the page says: stage words and announcements, checks and counters for the text fields,
//! ratio names and the quota line.
//!
//! Pure functions over the `contracts` types, unit-tested natively like [`crate::flow`]; the
//! screens only place these words.

use contracts::format::hours_minutes;
use contracts::{
    AspectRatio, JobStatus, MAX_EDIT_INSTRUCTION_CHARS, QuotaView, REFERENCE_NOTE_MAX_CHARS,
    REFERENCES_MAX,
};

/// The words for a job stage, as the Generating screen and the live region say them.
pub fn stage_label(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Queued => "Getting ready",
        JobStatus::Synthesizing => "Writing your prompt",
        JobStatus::Rendering => "Rendering the image",
        JobStatus::Storing => "Saving the image",
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

/// The counter under a text field, e.g. `12 / 500 characters`. It counts what the checks (and
/// the server) count: the text without leading and trailing spaces.
pub fn char_counter(text: &str, max_chars: usize) -> String {
    format!("{} / {max_chars} characters", text.trim().chars().count())
}

/// Why a re-asked answer was not taken, quoting what was typed.
pub fn reask_reason(typed: &str) -> String {
    let typed = typed.trim();
    if typed.is_empty() {
        "An empty answer gives us nothing to build the image on.".to_owned()
    } else {
        format!("“{typed}” is too thin to build an image on.")
    }
}

/// The shape a ratio makes, as its button names it.
pub fn shape_name(ratio: AspectRatio) -> &'static str {
    let (w, h) = ratio.parts();
    match (w * 100 / h, w.cmp(&h)) {
        (_, std::cmp::Ordering::Equal) => "square",
        (200.., _) => "wide",
        (_, std::cmp::Ordering::Greater) => "landscape",
        (_, std::cmp::Ordering::Less) => "portrait",
    }
}

/// What "Start over" clears and what stays, said before it happens.
pub fn start_over_consequences(images: usize) -> String {
    let made = match images {
        0 => "its answers".to_owned(),
        1 => "its answers and the image you made".to_owned(),
        n => format!("its answers and the {n} images you made"),
    };
    let keep = if images == 0 {
        ""
    } else {
        " Download any image you want to keep first: this page cannot show them again."
    };
    format!("Starting over clears this session: {made} leave the workspace.{keep}")
}

/// Where an image sits in the session's images, e.g. `Image 2 of 5`.
pub fn image_position(index: usize, count: usize) -> String {
    format!("Image {} of {count}", index + 1)
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
    let left = [quota.session_left, quota.client_left, quota.global_left]
        .into_iter()
        .flatten()
        .min()?;
    Some(match left {
        0 => format!(
            "Today's image limit is reached; it resets in {}.",
            hours_minutes(quota.resets_in_secs)
        ),
        1 => "1 image left today.".to_owned(),
        n => format!("{n} images left today."),
    })
}

/// Why an edit instruction cannot be sent yet, counted as the server counts (trimmed characters).
pub fn edit_problem(instruction: &str) -> Option<String> {
    let chars = instruction.trim().chars().count();
    let max = MAX_EDIT_INSTRUCTION_CHARS as usize;
    if chars == 0 {
        Some("Say what should change, for example “make it night, with rain”.".to_owned())
    } else if chars > max {
        Some(format!(
            "Your instruction is {chars} characters long; the limit is {max}. Shorten it by {}.",
            chars - max
        ))
    } else {
        None
    }
}

/// Why a reference note cannot be sent, counted as the server counts (trimmed characters).
pub fn note_problem(note: &str) -> Option<String> {
    let chars = note.trim().chars().count();
    (chars > REFERENCE_NOTE_MAX_CHARS).then(|| {
        format!(
            "The note is {chars} characters long; the limit is {REFERENCE_NOTE_MAX_CHARS}. Shorten it by {}.",
            chars - REFERENCE_NOTE_MAX_CHARS
        )
    })
}

/// How many references the session holds, and whether another fits.
pub fn references_status(count: usize) -> String {
    match count {
        0 => format!("None yet; up to {REFERENCES_MAX}."),
        n if n >= REFERENCES_MAX => {
            format!("{n} of {REFERENCES_MAX}: the most a session holds. Remove one to add another.")
        }
        n => format!("{n} of {REFERENCES_MAX}."),
    }
}

/// What the live region says once a reference is stored.
pub fn reference_added(note: &str, count: usize) -> String {
    let what = if note.is_empty() {
        "Reference image added".to_owned()
    } else {
        format!("Reference image “{note}” added")
    };
    format!("{what}; {count} of {REFERENCES_MAX}. The next image uses it.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::poll_wait_secs;

    #[test]
    fn the_quota_line_shows_the_tighter_limit() {
        let q = |session_left, global_left| QuotaView {
            session_left,
            client_left: None,
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
        let client_tighter = QuotaView {
            client_left: Some(1),
            ..q(Some(5), Some(9))
        };
        assert_eq!(
            quota_line(&client_tighter).as_deref(),
            Some("1 image left today.")
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

    #[test]
    fn the_counter_counts_what_the_check_counts() {
        // 499 characters and a trailing space: the check counts 499, so must the counter.
        let idea = format!("{} ", "a".repeat(499));
        assert_eq!(char_counter(&idea, 500), "499 / 500 characters");
        assert_eq!(idea_problem(&idea, 500), None);
        let long = format!("  {}  ", "b".repeat(501));
        assert_eq!(char_counter(&long, 500), "501 / 500 characters");
        let problem = idea_problem(&long, 500).expect("too long");
        assert!(problem.contains("501"), "{problem}");
    }

    #[test]
    fn a_reask_quotes_what_was_typed() {
        assert_eq!(
            reask_reason(" idk "),
            "“idk” is too thin to build an image on."
        );
        assert!(reask_reason("").starts_with("An empty answer"));
    }

    #[test]
    fn shapes_and_start_over_say_what_they_mean() {
        assert_eq!(shape_name(AspectRatio::Cinema21x9), "wide");
        assert_eq!(shape_name(AspectRatio::Landscape16x9), "landscape");
        assert_eq!(shape_name(AspectRatio::Portrait9x16), "portrait");
        assert_eq!(shape_name(AspectRatio::Square), "square");
        assert!(start_over_consequences(0).contains("its answers leave"));
        let three = start_over_consequences(3);
        assert!(
            three.contains("3 images") && three.contains("Download"),
            "{three}"
        );
        assert_eq!(image_position(0, 4), "Image 1 of 4");
    }

    #[test]
    fn edit_instructions_and_notes_are_counted_as_the_server_counts() {
        assert!(edit_problem("   ").is_some_and(|p| p.contains("what should change")));
        assert_eq!(edit_problem("  make it night  "), None);
        let long = "é".repeat(301);
        assert_eq!(
            edit_problem(&long).as_deref(),
            Some("Your instruction is 301 characters long; the limit is 300. Shorten it by 1.")
        );
        assert_eq!(
            edit_problem(&"é".repeat(300)),
            None,
            "characters, not bytes"
        );
        assert_eq!(note_problem(&format!(" {} ", "ü".repeat(120))), None);
        assert!(note_problem(&"a".repeat(121)).is_some_and(|p| p.contains("121 characters")));
    }

    #[test]
    fn the_reference_count_says_when_the_session_is_full() {
        assert_eq!(references_status(0), "None yet; up to 3.");
        assert_eq!(references_status(2), "2 of 3.");
        assert!(references_status(3).contains("Remove one to add another"));
        assert_eq!(
            reference_added("our product", 1),
            "Reference image “our product” added; 1 of 3. The next image uses it."
        );
    }
}
