//! The content rule, in every script: whether an idea has content at all, and which answers are
//! too sparse to build an image on (docs/adr/0004-content-in-every-script.md).
//!
//! Content is letters and digits of any script. Emoji, symbols, punctuation and spaces carry no
//! content here: an image model cannot be briefed with them alone, and the local composer cannot
//! write a sentence out of them. Both the idea check at start and the answer check use
//! [`has_content`] and the same per-character weights, so they cannot disagree.

use unicode_script::{Script, UnicodeScript};

/// What one word is worth. One CJK ideograph or Hangul syllable is a word; two kana, or two
/// letters of an abjad, abugida or syllabary (Arabic, Hebrew, Devanagari, Thai, Ethiopic...); three
/// letters or digits of an alphabet (Latin, Cyrillic, Greek...).
const WORD: u32 = 6;

/// How much of a word one character carries (see [`WORD`]).
fn weight(c: char) -> u32 {
    if !c.is_alphanumeric() {
        return 0;
    }
    match c.script() {
        Script::Han | Script::Tangut => WORD,
        Script::Hangul if is_hangul_syllable(c) => WORD,
        // Kana and syllabaries write a syllable per character; abjads leave vowels out and
        // abugidas fold them into the consonant, so their words are short too.
        Script::Hiragana
        | Script::Katakana
        | Script::Yi
        | Script::Vai
        | Script::Ethiopic
        | Script::Cherokee
        | Script::Canadian_Aboriginal
        | Script::Arabic
        | Script::Hebrew
        | Script::Syriac
        | Script::Thaana
        | Script::Nko
        | Script::Devanagari
        | Script::Bengali
        | Script::Gurmukhi
        | Script::Gujarati
        | Script::Oriya
        | Script::Tamil
        | Script::Telugu
        | Script::Kannada
        | Script::Malayalam
        | Script::Sinhala
        | Script::Thai
        | Script::Lao
        | Script::Tibetan
        | Script::Myanmar
        | Script::Khmer
        | Script::Javanese
        | Script::Balinese
        | Script::Sundanese => WORD / 2,
        // Alphabets, Hangul jamo on their own ("ㅋㅋ"), and digits (script Common).
        _ => WORD / 3,
    }
}

/// A precomposed Hangul syllable block (가..힣), as opposed to a lone jamo.
fn is_hangul_syllable(c: char) -> bool {
    ('\u{AC00}'..='\u{D7A3}').contains(&c)
}

/// How much `text` says, in sixths of a word: the sum of its characters' weights.
fn meaning(text: &str) -> u32 {
    text.chars().map(weight).sum()
}

/// True when `text` has any content: at least one letter or digit, in any script. An idea must
/// have content to start a session; emoji, symbols and punctuation alone do not count.
pub fn has_content(text: &str) -> bool {
    text.chars().any(is_content)
}

/// True for a character that carries content (a letter or digit of any script). The OpenAPI
/// document spells the idea's content rule out with it.
pub fn is_content(c: char) -> bool {
    weight(c) > 0
}

/// Phrases that mean "I don't know" (or just "yes"/"no"), compared after [`normalise`]. Listed in
/// docs/session-state-machine.md; a single-word entry only matters where the word is long enough
/// to pass the length rule on its own.
const DONT_KNOW: &[&str] = &[
    // English
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
    // Spanish, Portuguese
    "no sé",
    "no se",
    "ni idea",
    "lo que sea",
    "cualquiera",
    "cualquier cosa",
    "da igual",
    "me da igual",
    "não sei",
    "nao sei",
    "tanto faz",
    "qualquer coisa",
    "sim",
    "não",
    // French
    "je ne sais pas",
    "je sais pas",
    "sais pas",
    "aucune idée",
    "peu importe",
    "nimporte quoi",
    "comme tu veux",
    "oui",
    "non",
    // German
    "weiß nicht",
    "weiss nicht",
    "keine ahnung",
    "egal",
    "ist egal",
    "ist mir egal",
    "irgendwas",
    "nein",
    // Russian, Ukrainian
    "не знаю",
    "я не знаю",
    "без понятия",
    "понятия не имею",
    "всё равно",
    "все равно",
    "неважно",
    "не важно",
    "любой",
    "любое",
    "любая",
    "что угодно",
    "как хочешь",
    "ничего",
    "нет",
    "хз",
    "байдуже",
    "будь що",
    // Arabic
    "لا أعرف",
    "لا اعرف",
    "لا أدري",
    "لا ادري",
    "ما أعرف",
    "ما اعرف",
    "مش عارف",
    "مو عارف",
    "لا يهم",
    "مش مهم",
    "أي شيء",
    "اي شيء",
    "أي شي",
    "اي شي",
    "لا شيء",
    "نعم",
    "لا",
    // Japanese
    "わからない",
    "分からない",
    "わかりません",
    "分かりません",
    "わかんない",
    "知らない",
    "知りません",
    "なんでも",
    "何でも",
    "なんでもいい",
    "何でもいい",
    "どれでもいい",
    "どうでもいい",
    "おまかせ",
    "お任せ",
    "おまかせします",
    "お任せします",
    "特になし",
    "特にない",
    "なし",
    "無し",
    "ない",
    "はい",
    "いいえ",
    "うん",
    "ううん",
    // Chinese
    "不知道",
    "我不知道",
    "不晓得",
    "不曉得",
    "不清楚",
    "随便",
    "隨便",
    "随意",
    "都可以",
    "都行",
    "都好",
    "无所谓",
    "無所謂",
    "你决定",
    "你決定",
    "你来决定",
    "你來決定",
    "没有",
    "沒有",
    "无",
    "無",
    "不",
    "是",
    "好",
    "行",
    "嗯",
    // Korean
    "모르겠어요",
    "모르겠어",
    "모르겠습니다",
    "잘 모르겠어요",
    "몰라요",
    "몰라",
    "모름",
    "아무거나",
    "아무거나요",
    "상관없어요",
    "상관없어",
    "상관 없어요",
    "알아서",
    "알아서 해주세요",
    "알아서 해 주세요",
    "없어요",
    "없음",
    "글쎄요",
    "글쎄",
    "네",
    "예",
    "응",
    "아니요",
    "아니오",
    "아니",
];

/// Lower-cased, apostrophes dropped, and every run of punctuation, symbols, emoji and spaces
/// turned into one space, so "I don't know!" and "i dont know" compare equal. Combining marks
/// stay: in Devanagari or Thai they are part of the word.
fn normalise(text: &str) -> String {
    let spaced: String = text
        .chars()
        .filter(|c| !matches!(c, '\'' | '\u{2019}'))
        .flat_map(char::to_lowercase)
        .map(|c| {
            let separator =
                !c.is_alphanumeric() && matches!(c.script(), Script::Common | Script::Unknown);
            if separator { ' ' } else { c }
        })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// True when an answer is too sparse to use: less than about one word of content (see [`WORD`]:
/// empty, only punctuation or emoji, "ok", "4k") or a don't-know phrase. Such an answer is
/// re-asked once with the hint.
pub fn is_sparse(answer: &str) -> bool {
    meaning(answer) < WORD || DONT_KNOW.contains(&normalise(answer).as_str())
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

    #[test]
    fn one_ideograph_or_hangul_syllable_is_a_word() {
        for answer in [
            "東京",   // Tokyo
            "雨",     // rain
            "夜",     // night
            "上海",   // Shanghai
            "黄昏",   // dusk
            "비",     // rain (Korean)
            "서울",   // Seoul
            "밤",     // night
            "雨の夜", // a rainy night
        ] {
            assert!(!is_sparse(answer), "{answer:?} should count as an answer");
        }
    }

    #[test]
    fn kana_abjads_and_abugidas_need_two_letters_alphabets_three() {
        for answer in [
            "あめ",   // rain, in hiragana
            "ネオン", // neon
            "مطر",    // rain (Arabic)
            "ليل",    // night
            "يد",     // hand: two letters of an abjad
            "ים",     // sea (Hebrew)
            "जल",     // water (Hindi)
            "ฝน",     // rain (Thai)
            "дождь",  // rain (Russian)
            "ночь",   // night
            "βροχή",  // rain (Greek)
            "Lisboa",
        ] {
            assert!(!is_sparse(answer), "{answer:?} should count as an answer");
        }
        for answer in ["あ", "ب", "д", "ok", "ㅋㅋ"] {
            assert!(is_sparse(answer), "{answer:?} should be sparse");
        }
    }

    #[test]
    fn dont_know_phrases_are_sparse_in_every_tested_language() {
        for answer in [
            "わからない",
            "分かりません。",
            "なんでもいい",
            "不知道",
            "我不知道！",
            "随便",
            "無所謂",
            "모르겠어요",
            "아무거나",
            "상관없어요.",
            "Не знаю",
            "не знаю...",
            "всё равно",
            "без понятия",
            "لا أعرف",
            "لا اعرف؟",
            "لا يهم",
            "no sé",
            "je ne sais pas",
            "N'importe quoi",
            "keine Ahnung",
            "não sei",
        ] {
            assert!(is_sparse(answer), "{answer:?} should be sparse");
        }
    }

    #[test]
    fn real_answers_containing_a_dont_know_word_are_kept() {
        for answer in [
            "东京的雨夜",            // a rainy night in Tokyo
            "随便一个东京的小巷",    // any old Tokyo alley
            "不安な夜の街",          // an uneasy city at night
            "ночной Токио",          // Tokyo at night
            "لا شيء سوى الضباب",      // nothing but fog
            "아무도 없는 새벽 거리", // an empty street at dawn
        ] {
            assert!(!is_sparse(answer), "{answer:?} should count as an answer");
        }
    }

    #[test]
    fn emoji_alone_are_sparse_and_have_no_content() {
        for text in ["🌧️", "🌧️🌃🎷", "👍", "🤷‍♀️", "❤️🔥", "✨ ✨ ✨", "→ ★ ♪"]
        {
            assert!(is_sparse(text), "{text:?} should be sparse");
            assert!(!has_content(text), "{text:?} has no letters or digits");
        }
    }

    #[test]
    fn emoji_beside_words_are_kept() {
        for text in ["🌧️ rain on neon", "雨 🌧️", "🌃 ночь"] {
            assert!(!is_sparse(text), "{text:?} should count as an answer");
            assert!(has_content(text));
        }
    }

    #[test]
    fn any_letter_or_digit_is_content() {
        for text in ["a", "雨", "あ", "비", "д", "ب", "7", "a 🦊"] {
            assert!(has_content(text), "{text:?} has content");
        }
        for text in ["", "   ", "?!", "🦊🚀", "…", "—"] {
            assert!(!has_content(text), "{text:?} has no content");
        }
    }

    #[test]
    fn every_dont_know_entry_is_already_normalised() {
        // An entry with capitals or punctuation could never match, so it would be dead.
        for entry in DONT_KNOW {
            assert_eq!(&normalise(entry), entry);
        }
    }

    #[test]
    fn the_documented_phrase_list_is_the_one_in_use() {
        // docs/session-state-machine.md lists the phrases for people; keep the two in step.
        let doc = include_str!("../../../docs/session-state-machine.md");
        let table = doc
            .split("### Sparse answers")
            .nth(1)
            .expect("the section")
            .lines()
            .take_while(|l| !l.starts_with("## "))
            .filter(|l| l.starts_with("| ") && !l.starts_with("| language"));
        let mut documented: Vec<String> = table
            .flat_map(|row| {
                let phrases = row.split('|').nth(2).unwrap_or_default();
                phrases
                    .split([',', '、', '،'])
                    .map(normalise)
                    .collect::<Vec<_>>()
            })
            .collect();
        documented.sort();
        let mut in_use: Vec<String> = DONT_KNOW.iter().map(|p| (*p).to_owned()).collect();
        in_use.sort();
        assert_eq!(documented, in_use);
    }
}
