//! The sparse-answer rule: which answers are too thin to build an image on.

/// Phrases that mean "I don't know", compared after lower-casing and dropping punctuation.
const DONT_KNOW: &[&str] = &[
    "idk",
    "i dont know",
    "dont know",
    "i do not know",
    "dunno",
    "not sure",
    "im not sure",
    "no idea",
    "whatever",
    "anything",
    "any",
    "nothing",
    "none",
    "na",
    "n a",
    "no preference",
    "up to you",
    "you choose",
    "you decide",
    "doesnt matter",
    "does not matter",
    "surprise me",
    "skip",
    "pass",
    "no",
    "yes",
    "ok",
    "okay",
];

/// True when an answer is too sparse to use: empty, only punctuation, fewer than three letters
/// or digits, or a don't-know phrase. Such an answer is re-asked once with the hint.
pub fn is_sparse(answer: &str) -> bool {
    let alnum = answer.chars().filter(|c| c.is_alphanumeric()).count();
    if alnum < 3 {
        return true;
    }
    let normalised: String = answer
        .chars()
        .filter(|c| !matches!(c, '\'' | '\u{2019}'))
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                ' '
            }
        })
        .collect();
    let words: Vec<&str> = normalised.split_whitespace().collect();
    DONT_KNOW.contains(&words.join(" ").as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thin_answers_are_sparse() {
        for answer in [
            "",
            "   ",
            "?!...",
            "ok",
            "a",
            "4k",
            "idk",
            "IDK!",
            "not sure",
            "Not sure.",
            "whatever",
            "anything",
            "I don't know",
            "i dont know",
            "No idea",
            "surprise me",
            "doesn't matter",
        ] {
            assert!(is_sparse(answer), "{answer:?} should be sparse");
        }
    }

    #[test]
    fn real_answers_are_not_sparse() {
        for answer in [
            "dusk",
            "a rain-soaked Tokyo alley at 2 a.m.",
            "noir",
            "anything with neon",
            "close-up, 85mm",
            "夜の東京",
        ] {
            assert!(!is_sparse(answer), "{answer:?} should count as an answer");
        }
    }
}
