//! The local prompt composer: turns the idea and three answers into narrative prose that a Gemini
//! image model reads well, with no network. Deterministic: the same input always gives the same
//! prompt. Also home of the prompt cap that the live prompt writer shares.

use crate::refinement::Answer;
use crate::template::Template;

/// The final prompt with the two lines a person is allowed to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composition {
    /// The prompt sent to the image model. Never leaves the server.
    pub prompt: String,
    /// One line: "what we understood".
    pub summary: String,
    /// A literal description of the intended image, for screen readers.
    pub alt_text: String,
}

/// Longest summary a person sees, in characters.
pub const SUMMARY_MAX_CHARS: usize = 200;
/// Longest alt text, in characters.
pub const ALT_MAX_CHARS: usize = 250;

impl Composition {
    /// The three parts, each cut at a boundary to its cap: the prompt to `prompt_cap_chars`, the
    /// summary and alt text to [`SUMMARY_MAX_CHARS`] and [`ALT_MAX_CHARS`]. Every prompt writer,
    /// local or live, hands its answer over through here.
    pub fn capped(
        prompt: &str,
        summary: &str,
        alt_text: &str,
        prompt_cap_chars: usize,
    ) -> Composition {
        Composition {
            prompt: cap_at_boundary(prompt, prompt_cap_chars),
            summary: cap_at_boundary(summary, SUMMARY_MAX_CHARS),
            alt_text: cap_at_boundary(alt_text, ALT_MAX_CHARS),
        }
    }
}

/// Composes the prompt for `idea` and `answers` (one per template question), capped at
/// `cap_chars` characters at a sentence or clause boundary.
pub fn compose(
    template: &Template,
    idea: &str,
    answers: &[Answer],
    cap_chars: usize,
) -> Composition {
    compose_with_references(template, idea, answers, &[], cap_chars)
}

/// [`compose`] for an image model that also receives reference images (their notes in the order
/// sent, empty when none was given): a sentence right after the opening names each by its
/// position, so the prompt can lean on them and the cap never cuts it.
pub fn compose_with_references(
    template: &Template,
    idea: &str,
    answers: &[Answer],
    reference_notes: &[String],
    cap_chars: usize,
) -> Composition {
    let idea = clause(idea);
    let mut sentences = vec![template.opening.replace("{idea}", &lower_first(&idea))];
    if let Some(sentence) = references_sentence(reference_notes) {
        sentences.push(sentence);
    }
    for (question, answer) in template.questions.iter().zip(answers) {
        sentences.push(format!(
            "{} {}.",
            question.lead.trim(),
            lower_first(&clause(&answer.text))
        ));
    }
    sentences.push(template.style.trim().to_owned());
    let prompt = sentences.join(" ");

    let parts: Vec<String> = answers
        .iter()
        .filter(|a| !a.defaulted)
        .map(|a| lower_first(&clause(&a.text)))
        .collect();
    let summary = if parts.is_empty() {
        let kind = template.name.to_lowercase();
        format!(
            "{}, as {} {kind} image.",
            upper_first(&idea),
            article(&kind)
        )
    } else {
        format!("{}: {}.", upper_first(&idea), parts.join("; "))
    };
    let alt_text =
        alt_line(template, &idea, answers).unwrap_or_else(|| format!("{}.", upper_first(&idea)));
    Composition::capped(&prompt, &summary, &alt_text, cap_chars)
}

/// "Work from the 2 reference images given before this text: the first image is our product;
/// the second image is the style to match." `None` without references.
fn references_sentence(notes: &[String]) -> Option<String> {
    if notes.is_empty() {
        return None;
    }
    let described: Vec<String> = notes
        .iter()
        .enumerate()
        .map(|(i, note)| {
            let note = clause(note);
            let what = if note.is_empty() {
                "a reference".to_owned()
            } else {
                lower_first(&note)
            };
            format!("the {} image is {what}", ordinal(i + 1))
        })
        .collect();
    let count = match notes.len() {
        1 => "the reference image".to_owned(),
        n => format!("the {n} reference images"),
    };
    Some(format!(
        "Work from {count} given before this text: {}.",
        described.join("; ")
    ))
}

/// "first", "second", ... for a position counted from 1 (a few, then "next").
pub fn ordinal(position: usize) -> &'static str {
    match position {
        1 => "first",
        2 => "second",
        3 => "third",
        4 => "fourth",
        5 => "fifth",
        _ => "next",
    }
}

/// The template's `alt_text` pattern with the idea and answers filled in (default pattern:
/// `{idea}, in {<first key>}.`). `None` when a named answer is missing or empty.
fn alt_line(template: &Template, idea: &str, answers: &[Answer]) -> Option<String> {
    let fallback;
    let pattern = match &template.alt_text {
        Some(pattern) => pattern.as_str(),
        None => {
            fallback = format!("{{idea}}, in {{{}}}.", template.questions.first()?.key);
            fallback.as_str()
        }
    };
    // One pass, so braces inside the idea or an answer are never read as placeholders.
    let mut line = String::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        line.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        let name = &after[..close];
        let value = if name == "idea" {
            lower_first(idea)
        } else {
            let index = template.questions.iter().position(|q| q.key == name)?;
            lower_first(&clause(&answers.get(index)?.text))
        };
        if value.is_empty() {
            return None;
        }
        line.push_str(&value);
        rest = &after[close + 1..];
    }
    line.push_str(rest);
    Some(upper_first(&line))
}

/// "a" or "an" before `word`, by its first letter (good enough for template names).
fn article(word: &str) -> &'static str {
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

/// Cuts `text` to at most `cap_chars` characters: at the last sentence end that fits, else the
/// last clause break (`,` `;` `:`), else the last space, else hard. Text that fits is returned as is.
pub fn cap_at_boundary(text: &str, cap_chars: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= cap_chars {
        return text.to_owned();
    }
    let byte_cap = text
        .char_indices()
        .nth(cap_chars)
        .map_or(text.len(), |(i, _)| i);
    let head = &text[..byte_cap];
    // A sentence end is . ! or ? followed by a space (or the cut itself).
    let sentence_end = head
        .char_indices()
        .rev()
        .find(|&(i, c)| {
            matches!(c, '.' | '!' | '?') && text[i + c.len_utf8()..].starts_with([' ', '\n'])
        })
        .map(|(i, c)| i + c.len_utf8());
    if let Some(end) = sentence_end.filter(|&e| e > byte_cap / 3) {
        return head[..end].trim_end().to_owned();
    }
    if let Some(i) = head.rfind([',', ';', ':']).filter(|&i| i > byte_cap / 3) {
        return format!("{}.", head[..i].trim_end());
    }
    match head.rfind(char::is_whitespace) {
        Some(i) if i > 0 => format!("{}.", head[..i].trim_end_matches([',', ';', ':', ' '])),
        _ => head.to_owned(),
    }
}

/// Whitespace collapsed and trailing sentence punctuation dropped, so it can sit inside a sentence.
fn clause(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    joined
        .trim_end_matches(['.', '!', '?', ',', ';', ':', ' '])
        .to_owned()
}

/// Words that start a phrase in lower case mid-sentence. Anything else ("Lisbon", "NASA") keeps its case.
const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "the", "some", "this", "that", "these", "those", "my", "our", "your", "his", "her",
    "their", "its", "one", "two", "three", "several", "many", "in", "on", "at", "from", "under",
    "inside", "outside", "with",
];

/// "A cat" -> "a cat" and "The sea" -> "the sea", so the phrase can follow a lead-in.
fn lower_first(text: &str) -> String {
    let first_word = text.split_whitespace().next().unwrap_or_default();
    if FUNCTION_WORDS.contains(&first_word.to_lowercase().as_str()) {
        let mut chars = text.chars();
        chars
            .next()
            .map(|c| c.to_lowercase().chain(chars).collect())
            .unwrap_or_default()
    } else {
        text.to_owned()
    }
}

fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refinement::{AnswerInput, Refinement};
    use crate::template::Catalog;

    fn answered(texts: [&str; 3]) -> (std::sync::Arc<Template>, Vec<Answer>) {
        let t = Catalog::built_in()
            .expect("valid")
            .get("general-cinematic")
            .expect("present");
        let mut r = Refinement::new();
        for text in texts {
            let input = if text.is_empty() {
                AnswerInput::Skip
            } else {
                AnswerInput::Text(text)
            };
            r.answer(&t, input).expect("answer");
        }
        (t.clone(), r.answers().to_vec())
    }

    #[test]
    fn the_prompt_is_narrative_prose_with_every_answer() {
        let (t, answers) = answered([
            "a rain-soaked Tokyo alley at 2 a.m.",
            "tense, neon reflections, teal and magenta",
            "close-up, 85 mm, eye level",
        ]);
        let c = compose(&t, "A lone courier on a bicycle.", &answers, 1500);
        assert!(
            c.prompt
                .starts_with("A cinematic film still of a lone courier on a bicycle.")
        );
        assert!(
            c.prompt
                .contains("The scene is set in a rain-soaked Tokyo alley at 2 a.m.")
        );
        assert!(
            c.prompt
                .contains("The mood is tense, neon reflections, teal and magenta.")
        );
        assert!(c.prompt.contains("close-up, 85 mm, eye level."));
        assert!(c.prompt.ends_with("no text or watermarks."));
        assert_eq!(
            c.alt_text,
            "A lone courier on a bicycle, in a rain-soaked Tokyo alley at 2 a.m."
        );
        assert!(!c.summary.contains(&c.prompt));
    }

    #[test]
    fn proper_nouns_keep_their_capitals() {
        assert_eq!(lower_first("Lisbon at dawn"), "Lisbon at dawn");
        assert_eq!(lower_first("The Alps"), "the Alps");
        assert_eq!(lower_first("NASA launch pad"), "NASA launch pad");
    }

    #[test]
    fn composing_is_deterministic() {
        let (t, answers) = answered(["Lisbon at dawn", "", "wide shot"]);
        let a = compose(&t, "a tram", &answers, 1500);
        let b = compose(&t, "a tram", &answers, 1500);
        assert_eq!(a, b);
    }

    #[test]
    fn skipped_answers_use_the_template_default() {
        let (t, answers) = answered(["", "", ""]);
        let c = compose(&t, "a tram", &answers, 1500);
        for q in &t.questions {
            assert!(
                c.prompt.contains(&q.default),
                "missing default {:?}",
                q.default
            );
        }
        assert_eq!(c.summary, "A tram, as a general cinematic image.");
    }

    #[test]
    fn the_cap_cuts_at_a_sentence_boundary() {
        let (t, answers) = answered(["Lisbon at dawn", "wistful", "wide shot"]);
        let full = compose(&t, "a tram", &answers, 10_000).prompt;
        let cap = full.chars().count() - 10;
        let capped = compose(&t, "a tram", &answers, cap).prompt;
        assert!(capped.chars().count() <= cap);
        assert!(capped.ends_with('.'), "{capped}");
        assert!(full.starts_with(&capped));
    }

    #[test]
    fn cap_at_boundary_falls_back_to_clauses_then_words() {
        let clauses = "alpha beta gamma, delta epsilon zeta, eta theta iota kappa lambda";
        assert_eq!(
            cap_at_boundary(clauses, 45),
            "alpha beta gamma, delta epsilon zeta."
        );
        let words = "alpha beta gamma delta epsilon";
        assert_eq!(cap_at_boundary(words, 20), "alpha beta gamma.");
        assert_eq!(cap_at_boundary("short.", 100), "short.");
        let multibyte = "ééééé ééééé ééééé";
        assert_eq!(cap_at_boundary(multibyte, 12), "ééééé ééééé.");
    }

    /// Answers `texts` (empty = skip) for the template `id`.
    fn answered_for(id: &str, texts: [&str; 3]) -> (std::sync::Arc<Template>, Vec<Answer>) {
        let t = Catalog::built_in()
            .expect("valid")
            .get(id)
            .expect("present");
        let mut r = Refinement::new();
        for text in texts {
            let input = if text.is_empty() {
                AnswerInput::Skip
            } else {
                AnswerInput::Text(text)
            };
            r.answer(&t, input).expect("answer");
        }
        (t, r.answers().to_vec())
    }

    #[test]
    fn every_template_composes_its_own_phrasing() {
        for t in Catalog::built_in().expect("valid").iter() {
            let (t, answers) = answered_for(&t.id, ["", "", ""]);
            let c = compose(&t, "a tram", &answers, 1500);
            assert!(
                c.prompt.starts_with(&t.opening.replace("{idea}", "a tram")),
                "{}: {}",
                t.id,
                c.prompt
            );
            for q in &t.questions {
                let sentence = format!("{} {}.", q.lead, q.default);
                assert!(c.prompt.contains(&sentence), "{}: no {sentence:?}", t.id);
            }
            assert!(c.prompt.ends_with(t.style.trim()), "{}", t.id);
            assert!(c.prompt.chars().count() <= 1500, "{}", t.id);
            assert!(c.alt_text.starts_with(char::is_uppercase), "{}", t.id);
            assert!(!c.alt_text.contains(['{', '}']), "{}: {}", t.id, c.alt_text);
            assert!(c.alt_text.contains("tram"), "{}: {}", t.id, c.alt_text);
        }
    }

    #[test]
    fn each_template_writes_its_own_alt_text() {
        let cases = [
            (
                "product-shot",
                "a pour-over kettle",
                ["matte black ceramic", "a seamless white sweep", ""],
                "A pour-over kettle, on a seamless white sweep.",
            ),
            (
                "portrait",
                "an old fisherman",
                ["laughing mid-sentence", "", ""],
                "Portrait of an old fisherman: laughing mid-sentence.",
            ),
            (
                "poster-lettering",
                "a night market",
                ["'NIGHT MARKET', below it 'Fridays from 6 pm'", "", ""],
                "Poster of a night market, with the lettering 'NIGHT MARKET', below it 'Fridays from 6 pm'.",
            ),
            (
                "architecture-interior",
                "A library in a pine forest",
                ["board-marked concrete and oak slats", "", ""],
                "A library in a pine forest, with board-marked concrete and oak slats.",
            ),
            (
                "food",
                "a bowl of ramen",
                ["", "a chipped enamel bowl on a weathered oak table", ""],
                "A bowl of ramen, served on a chipped enamel bowl on a weathered oak table.",
            ),
        ];
        for (id, idea, texts, alt) in cases {
            let (t, answers) = answered_for(id, texts);
            assert_eq!(compose(&t, idea, &answers, 1500).alt_text, alt, "{id}");
        }
    }

    #[test]
    fn the_poster_keeps_the_exact_words_and_the_summary_reads() {
        let (t, answers) = answered_for("poster-lettering", ["\"Happy 40th, Maya!\"", "", ""]);
        let c = compose(&t, "a birthday card with balloons", &answers, 1500);
        assert!(
            c.prompt.contains("Lettering: \"Happy 40th, Maya!\"."),
            "{}",
            c.prompt
        );
        let (t, answers) = answered_for("architecture-interior", ["", "", ""]);
        let c = compose(&t, "a chapel", &answers, 1500);
        assert_eq!(
            c.summary,
            "A chapel, as an architecture and interiors image."
        );
    }

    #[test]
    fn references_are_named_by_position_right_after_the_opening() {
        let (t, answers) = answered(["at dusk", "wide", "calm"]);
        let notes = ["Our product.".to_owned(), String::new()];
        let c = compose_with_references(&t, "a bottle on a beach", &answers, &notes, 1500);
        assert!(
            c.prompt.contains(
                "Work from the 2 reference images given before this text: the first image is our product; the second image is a reference."
            ),
            "{}",
            c.prompt
        );
        let opening_end = c.prompt.find("Work from").expect("the sentence");
        assert!(opening_end > 0 && opening_end < 200, "{}", c.prompt);
        assert_eq!(
            compose_with_references(&t, "a bottle on a beach", &answers, &[], 1500),
            compose(&t, "a bottle on a beach", &answers, 1500),
            "no references, no sentence"
        );
        let one =
            compose_with_references(&t, "a bottle", &answers, &["style to match".into()], 1500);
        assert!(one.prompt.contains("Work from the reference image given before this text: the first image is style to match."), "{}", one.prompt);
    }

    #[test]
    fn braces_in_the_idea_are_not_placeholders() {
        let (t, answers) = answered_for("general-cinematic", ["Lisbon at dawn", "", ""]);
        let c = compose(&t, "a sign reading {setting}", &answers, 1500);
        assert_eq!(c.alt_text, "A sign reading {setting}, in Lisbon at dawn.");
    }
}
