//! The three-question refinement state machine (docs/session-state-machine.md).
//!
//! States: `Asking { question, reasking }` for questions 1..=3, then `Ready`. Events: an answer,
//! a skip, "back to question n", or (once all three are in) "revise answer n in place". A sparse
//! answer is re-asked once; a second sparse answer, or a skip, takes the template default. A sparse
//! revision is refused instead (the earlier answer stays). There is never a fourth question.

use serde::{Deserialize, Serialize};

use crate::answer::is_sparse;
use crate::template::Template;
use contracts::QUESTION_COUNT;

const TOTAL: usize = QUESTION_COUNT as usize;

/// A recorded answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The text used for the prompt: the person's words, or the template default.
    pub text: String,
    /// True when `text` is the template default.
    pub defaulted: bool,
    /// True when the person chose Skip.
    pub skipped: bool,
    /// True when the question had to be asked twice.
    pub reasked: bool,
}

/// What the person sent for the current question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerInput<'a> {
    Text(&'a str),
    Skip,
}

/// What an answer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Recorded; the next question is waiting.
    Next,
    /// Too sparse: the same question is asked again, with its hint.
    Reask,
    /// Recorded, and that was the last question.
    Ready,
}

/// An event that does not fit the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("all {TOTAL} questions are already answered")]
    AlreadyComplete,
    #[error("there is no question {0}; questions are numbered 1 to {TOTAL}")]
    NoSuchQuestion(u8),
    #[error("question {0} has not been reached yet")]
    NotReached(u8),
    /// A revision before all three questions are answered.
    #[error("answer all {TOTAL} questions before revising one")]
    Incomplete,
    /// A revision too sparse to build on; nothing was changed.
    #[error("the answer to question {0} is too thin to build an image on")]
    TooThin(u8),
}

/// Progress through the three questions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refinement {
    answers: Vec<Answer>,
    /// Answers from before a "back", offered again as prefill; index = question - 1.
    previous: Vec<Option<Answer>>,
    reasking: bool,
}

impl Default for Refinement {
    fn default() -> Self {
        Refinement::new()
    }
}

impl Refinement {
    pub fn new() -> Refinement {
        Refinement {
            answers: Vec::with_capacity(TOTAL),
            previous: vec![None; TOTAL],
            reasking: false,
        }
    }

    /// A finished refinement with these answers (a recipe's), or `None` unless there are
    /// exactly three.
    pub fn from_answers(answers: Vec<Answer>) -> Option<Refinement> {
        (answers.len() == TOTAL).then(|| Refinement {
            answers,
            previous: vec![None; TOTAL],
            reasking: false,
        })
    }

    /// The 1-based question waiting for an answer, or `None` when all are answered.
    pub fn current_question(&self) -> Option<u8> {
        (self.answers.len() < TOTAL).then(|| self.answers.len() as u8 + 1)
    }

    /// True while the current question is being asked a second time.
    pub fn is_reasking(&self) -> bool {
        self.reasking && !self.is_ready()
    }

    pub fn is_ready(&self) -> bool {
        self.answers.len() == TOTAL
    }

    /// The recorded answers, in question order.
    pub fn answers(&self) -> &[Answer] {
        &self.answers
    }

    /// What the person answered to question `question` before going back, if they wrote it.
    pub fn previous_answer(&self, question: u8) -> Option<&str> {
        let prior = self
            .previous
            .get(usize::from(question).checked_sub(1)?)?
            .as_ref()?;
        (!prior.defaulted).then_some(prior.text.as_str())
    }

    /// Applies an answer (or a skip) to the current question.
    pub fn answer(
        &mut self,
        template: &Template,
        input: AnswerInput<'_>,
    ) -> Result<StepOutcome, StepError> {
        let index = self.answers.len();
        let question = template
            .questions
            .get(index)
            .ok_or(StepError::AlreadyComplete)?;
        let default = || question.default.trim().to_owned();
        let answer = match input {
            AnswerInput::Skip => Answer {
                text: default(),
                defaulted: true,
                skipped: true,
                reasked: self.reasking,
            },
            AnswerInput::Text(text) if is_sparse(text) => {
                if !self.reasking {
                    self.reasking = true;
                    return Ok(StepOutcome::Reask);
                }
                Answer {
                    text: default(),
                    defaulted: true,
                    skipped: false,
                    reasked: true,
                }
            }
            AnswerInput::Text(text) => Answer {
                text: text.split_whitespace().collect::<Vec<_>>().join(" "),
                defaulted: false,
                skipped: false,
                reasked: self.reasking,
            },
        };
        self.answers.push(answer);
        self.previous[index] = None;
        self.reasking = false;
        Ok(if self.is_ready() {
            StepOutcome::Ready
        } else {
            StepOutcome::Next
        })
    }

    /// Replaces answer `question` (1-based) of a ready refinement, keeping the other two. A skip
    /// takes the template default; a sparse answer is refused with [`StepError::TooThin`] rather
    /// than defaulted, because the person is editing one field and can simply try again (a silent
    /// default would overwrite what they had). Returns whether the answer changed.
    pub fn revise(
        &mut self,
        template: &Template,
        question: u8,
        input: AnswerInput<'_>,
    ) -> Result<bool, StepError> {
        let index = usize::from(question);
        if !(1..=TOTAL).contains(&index) {
            return Err(StepError::NoSuchQuestion(question));
        }
        if !self.is_ready() {
            return Err(StepError::Incomplete);
        }
        let asked = template
            .questions
            .get(index - 1)
            .ok_or(StepError::NoSuchQuestion(question))?;
        let revised = match input {
            AnswerInput::Skip => Answer {
                text: asked.default.trim().to_owned(),
                defaulted: true,
                skipped: true,
                reasked: false,
            },
            AnswerInput::Text(text) if is_sparse(text) => return Err(StepError::TooThin(question)),
            AnswerInput::Text(text) => Answer {
                text: text.split_whitespace().collect::<Vec<_>>().join(" "),
                defaulted: false,
                skipped: false,
                reasked: false,
            },
        };
        let slot = &mut self.answers[index - 1];
        let changed = slot.text != revised.text || slot.skipped != revised.skipped;
        *slot = revised;
        Ok(changed)
    }

    /// Returns to question `question` (1-based) so answers can be changed. Answers from that
    /// question on are kept as prefill; the re-ask allowance starts afresh.
    pub fn back_to(&mut self, question: u8) -> Result<(), StepError> {
        let target = usize::from(question);
        if !(1..=TOTAL).contains(&target) {
            return Err(StepError::NoSuchQuestion(question));
        }
        if target > self.answers.len() + 1 {
            return Err(StepError::NotReached(question));
        }
        for (offset, answer) in self.answers.drain(target - 1..).enumerate() {
            self.previous[target - 1 + offset] = Some(answer);
        }
        self.reasking = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Catalog;
    use std::sync::Arc;

    fn template() -> Arc<Template> {
        Catalog::built_in()
            .expect("valid")
            .get("general-cinematic")
            .expect("present")
    }

    #[test]
    fn three_answers_make_it_ready_and_a_fourth_is_refused() {
        let t = template();
        let mut r = Refinement::new();
        assert_eq!(r.current_question(), Some(1));
        assert_eq!(
            r.answer(&t, AnswerInput::Text("Lisbon at dawn")),
            Ok(StepOutcome::Next)
        );
        assert_eq!(r.current_question(), Some(2));
        assert_eq!(
            r.answer(&t, AnswerInput::Text("wistful, pastel")),
            Ok(StepOutcome::Next)
        );
        assert_eq!(
            r.answer(&t, AnswerInput::Text("wide, low angle")),
            Ok(StepOutcome::Ready)
        );
        assert!(r.is_ready());
        assert_eq!(r.current_question(), None);
        assert_eq!(
            r.answer(&t, AnswerInput::Text("one more")),
            Err(StepError::AlreadyComplete)
        );
        assert_eq!(r.answers().len(), 3);
        assert_eq!(r.answers()[0].text, "Lisbon at dawn");
    }

    #[test]
    fn a_sparse_answer_is_reasked_once_then_defaulted() {
        let t = template();
        let mut r = Refinement::new();
        assert_eq!(
            r.answer(&t, AnswerInput::Text("idk")),
            Ok(StepOutcome::Reask)
        );
        assert!(r.is_reasking());
        assert_eq!(r.current_question(), Some(1));
        assert_eq!(r.answer(&t, AnswerInput::Text("??")), Ok(StepOutcome::Next));
        let first = &r.answers()[0];
        assert!(first.defaulted && first.reasked && !first.skipped);
        assert_eq!(first.text, t.questions[0].default);
        assert!(!r.is_reasking(), "the next question starts fresh");
    }

    #[test]
    fn a_good_answer_after_a_reask_is_kept() {
        let t = template();
        let mut r = Refinement::new();
        r.answer(&t, AnswerInput::Text("")).expect("reask");
        r.answer(&t, AnswerInput::Text("a Sahara camp at dawn"))
            .expect("answer");
        let first = &r.answers()[0];
        assert_eq!(first.text, "a Sahara camp at dawn");
        assert!(first.reasked && !first.defaulted);
    }

    #[test]
    fn skip_takes_the_default_at_once() {
        let t = template();
        let mut r = Refinement::new();
        assert_eq!(r.answer(&t, AnswerInput::Skip), Ok(StepOutcome::Next));
        let first = &r.answers()[0];
        assert!(first.skipped && first.defaulted && !first.reasked);
        assert_eq!(first.text, t.questions[0].default);
    }

    #[test]
    fn back_keeps_later_answers_as_prefill() {
        let t = template();
        let mut r = Refinement::new();
        for text in ["Lisbon at dawn", "wistful, pastel", "wide, low angle"] {
            r.answer(&t, AnswerInput::Text(text)).expect("answer");
        }
        r.back_to(2).expect("back");
        assert_eq!(r.current_question(), Some(2));
        assert_eq!(r.answers().len(), 1);
        assert_eq!(r.previous_answer(2), Some("wistful, pastel"));
        assert_eq!(r.previous_answer(3), Some("wide, low angle"));
        r.answer(&t, AnswerInput::Text("stormy, cold blue"))
            .expect("answer");
        assert_eq!(r.previous_answer(2), None, "answered again");
        assert_eq!(r.previous_answer(3), Some("wide, low angle"));
    }

    #[test]
    fn back_cannot_skip_ahead_or_leave_the_range() {
        let mut r = Refinement::new();
        assert_eq!(r.back_to(0), Err(StepError::NoSuchQuestion(0)));
        assert_eq!(r.back_to(4), Err(StepError::NoSuchQuestion(4)));
        assert_eq!(r.back_to(2), Err(StepError::NotReached(2)));
        assert_eq!(r.back_to(1), Ok(()));
    }

    #[test]
    fn defaulted_answers_are_not_offered_as_prefill() {
        let t = template();
        let mut r = Refinement::new();
        r.answer(&t, AnswerInput::Skip).expect("skip");
        r.back_to(1).expect("back");
        assert_eq!(r.previous_answer(1), None);
    }

    fn ready() -> Refinement {
        let t = template();
        let mut r = Refinement::new();
        for text in ["Lisbon at dawn", "wistful, pastel", "wide, low angle"] {
            r.answer(&t, AnswerInput::Text(text)).expect("answer");
        }
        r
    }

    #[test]
    fn revising_one_answer_keeps_the_other_two() {
        let t = template();
        let mut r = ready();
        assert_eq!(
            r.revise(&t, 2, AnswerInput::Text("  stormy,   cold blue ")),
            Ok(true)
        );
        let texts: Vec<&str> = r.answers().iter().map(|a| a.text.as_str()).collect();
        assert_eq!(
            texts,
            ["Lisbon at dawn", "stormy, cold blue", "wide, low angle"]
        );
        assert!(r.is_ready());
        assert_eq!(
            r.revise(&t, 2, AnswerInput::Text("stormy, cold blue")),
            Ok(false),
            "the same words again change nothing"
        );
    }

    #[test]
    fn a_revised_skip_takes_the_default_and_a_thin_revision_is_refused() {
        let t = template();
        let mut r = ready();
        assert_eq!(r.revise(&t, 3, AnswerInput::Skip), Ok(true));
        let third = &r.answers()[2];
        assert!(third.skipped && third.defaulted);
        assert_eq!(third.text, t.questions[2].default);

        let before = r.clone();
        for thin in ["idk", "", "🤷", "ok"] {
            assert_eq!(
                r.revise(&t, 1, AnswerInput::Text(thin)),
                Err(StepError::TooThin(1)),
                "{thin:?}"
            );
        }
        assert_eq!(r, before, "nothing changed");
    }

    #[test]
    fn revising_needs_all_three_answers_and_a_question_in_range() {
        let t = template();
        let mut r = Refinement::new();
        r.answer(&t, AnswerInput::Text("Lisbon at dawn"))
            .expect("answer");
        assert_eq!(
            r.revise(&t, 1, AnswerInput::Text("Porto at noon")),
            Err(StepError::Incomplete)
        );
        let mut r = ready();
        for question in [0, 4] {
            assert_eq!(
                r.revise(&t, question, AnswerInput::Skip),
                Err(StepError::NoSuchQuestion(question))
            );
        }
    }

    #[test]
    fn every_template_keeps_the_three_question_and_sparse_answer_rules() {
        for t in Catalog::built_in().expect("valid").iter() {
            let mut r = Refinement::new();
            assert_eq!(
                r.answer(t, AnswerInput::Text("idk")),
                Ok(StepOutcome::Reask)
            );
            assert_eq!(r.answer(t, AnswerInput::Text("🤷")), Ok(StepOutcome::Next));
            assert_eq!(r.answers()[0].text, t.questions[0].default, "{}", t.id);
            assert_eq!(r.answer(t, AnswerInput::Skip), Ok(StepOutcome::Next));
            assert_eq!(r.answer(t, AnswerInput::Text("雨")), Ok(StepOutcome::Ready));
            assert_eq!(r.answers()[2].text, "雨", "{}", t.id);
            assert_eq!(
                r.answer(t, AnswerInput::Text("one more")),
                Err(StepError::AlreadyComplete)
            );
        }
    }

    #[test]
    fn short_answers_in_any_script_are_recorded_at_once() {
        let t = template();
        for (first, second, third) in [
            ("東京", "雨", "夜"),
            ("上海", "黄昏", "远景"),
            ("서울", "비", "밤"),
            ("Москва", "дождь", "ночь"),
            ("القاهرة", "مطر", "ليل"),
        ] {
            let mut r = Refinement::new();
            for text in [first, second, third] {
                let outcome = r.answer(&t, AnswerInput::Text(text)).expect("answer");
                assert_ne!(outcome, StepOutcome::Reask, "{text:?} was re-asked");
            }
            let texts: Vec<&str> = r.answers().iter().map(|a| a.text.as_str()).collect();
            assert_eq!(texts, [first, second, third]);
        }
    }
}
