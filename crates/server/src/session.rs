//! Server-side session state (one person's flow) and the view a client sees. The synthesized
//! prompt lives here and is never put into a [`SessionView`]. Rows are kept by `store`; every
//! change goes through [`update`], a compare-and-swap retry loop.

pub mod cookie;

use contracts::{
    AnswerView, AspectRatio, ImageRecipe, ImageView, JobView, QUESTION_COUNT, QuestionView,
    SessionStatus, SessionView,
};
use domain::{Answer, Refinement, Template};
use serde::{Deserialize, Serialize};
use store::SessionId;
use store::sessions::SessionStore;

/// Everything the server remembers about one person's flow (its jobs are rows of their own).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionData {
    pub template_id: String,
    pub idea: String,
    pub refinement: Refinement,
    /// The newest written prompt, for "new take (same prompt)".
    pub synthesis: Option<StoredSynthesis>,
    /// The prompt written ahead of Generate for the brief as it stands (`speculation`).
    #[serde(default)]
    pub speculation: Option<Speculation>,
    /// Speculative writes started for this session, bounded by `speculation::MAX_WRITES`.
    #[serde(default)]
    pub speculative_writes: u32,
}

/// A prompt written in the background as soon as a brief is complete, kept in the session's row
/// so a Generate on any instance finds it. Secret like [`StoredSynthesis`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Speculation {
    /// The fingerprint of the brief it is written from (`speculation::fingerprint`).
    pub brief: String,
    /// This write's id: a superseded writer finds another here and drops its result.
    pub attempt: String,
    pub state: SpeculationState,
}

/// Where a speculative write stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeculationState {
    /// Being written. Past `until_ms` (epoch ms) nobody waits for it: its writer gave up or its
    /// instance died.
    Writing {
        until_ms: i64,
    },
    Ready(StoredSynthesis),
    /// The write failed; Generate writes the prompt itself.
    Failed,
}

/// A written prompt with the lines a person may see.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredSynthesis {
    /// Secret: never in a response, header or INFO log.
    pub prompt: String,
    pub summary: String,
    pub alt_text: String,
    /// The reference images it was written for, by id in upload order: a new take reuses the
    /// prompt only while the session's references are still these.
    #[serde(default)]
    pub references: Vec<String>,
}

impl std::fmt::Debug for StoredSynthesis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSynthesis")
            .field("prompt_chars", &self.prompt.chars().count())
            .finish_non_exhaustive()
    }
}

impl SessionData {
    pub fn new(template_id: String, idea: String) -> SessionData {
        SessionData {
            template_id,
            idea,
            refinement: Refinement::new(),
            synthesis: None,
            speculation: None,
            speculative_writes: 0,
        }
    }

    /// What the client sees, given the session's newest job and its images (newest first). Built
    /// field by field so the prompt cannot slip in.
    pub fn view(
        &self,
        template: &Template,
        job: Option<JobView>,
        images: Vec<ImageView>,
    ) -> SessionView {
        let r = &self.refinement;
        let question = r.current_question().and_then(|index| {
            let q = template.questions.get(usize::from(index) - 1)?;
            Some(QuestionView {
                index,
                total: QUESTION_COUNT,
                text: q.text.clone(),
                hint: q.hint.clone(),
                reask: r.is_reasking(),
                previous_answer: r.previous_answer(index).map(str::to_owned),
            })
        });
        let answers = self.answer_views(template);
        SessionView {
            template_id: self.template_id.clone(),
            template_name: template.name.clone(),
            idea: self.idea.clone(),
            status: if r.is_ready() {
                SessionStatus::Ready
            } else {
                SessionStatus::Refining
            },
            question,
            answers,
            default_aspect_ratio: template.default_aspect_ratio,
            job,
            last_image: images.first().cloned(),
            images,
            can_reuse_prompt: self.synthesis.is_some(),
            quota: None,
            references: Vec::new(),
        }
    }

    /// The recorded answers with their questions.
    fn answer_views(&self, template: &Template) -> Vec<AnswerView> {
        self.refinement
            .answers()
            .iter()
            .zip(&template.questions)
            .zip(1..)
            .map(|((a, q), index)| AnswerView {
                index,
                question: q.text.clone(),
                hint: q.hint.clone(),
                answer: a.text.clone(),
                defaulted: a.defaulted,
                skipped: a.skipped,
            })
            .collect()
    }

    /// How an image made now at `aspect_ratio` is made: the person's choices, never the prompt.
    pub fn recipe(&self, template: &Template, aspect_ratio: AspectRatio) -> ImageRecipe {
        ImageRecipe {
            template_id: self.template_id.clone(),
            template_name: template.name.clone(),
            idea: self.idea.clone(),
            answers: self.answer_views(template),
            aspect_ratio,
            image_size: None,
            count: None,
            reference_ids: Vec::new(),
            edit_instruction: None,
            edit_of: None,
        }
    }

    /// A ready session with a recipe's template, idea and answers (`None` unless it has three).
    pub fn from_recipe(recipe: &ImageRecipe) -> Option<SessionData> {
        let answers = recipe
            .answers
            .iter()
            .map(|a| Answer {
                text: a.answer.clone(),
                defaulted: a.defaulted,
                skipped: a.skipped,
                reasked: false,
            })
            .collect();
        Some(SessionData {
            refinement: Refinement::from_answers(answers)?,
            ..SessionData::new(recipe.template_id.clone(), recipe.idea.clone())
        })
    }
}

/// Why [`update`] could not apply a change.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Unknown, idle too long, or dropped (start over) meanwhile.
    #[error("no session")]
    NotFound,
    /// Concurrent writes kept colliding.
    #[error("session busy")]
    Busy,
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// Compare-and-swap attempts before giving up with [`SessionError::Busy`].
const ATTEMPTS: usize = 5;

/// Applies `change` to the stored session, retrying when another request (on any instance)
/// wrote in between. Returns what `change` returned and the data as saved.
pub async fn update<R, E: From<SessionError>>(
    store: &SessionStore,
    id: &SessionId,
    mut change: impl FnMut(&mut SessionData) -> Result<R, E>,
) -> Result<(R, SessionData), E> {
    for _ in 0..ATTEMPTS {
        let current = store
            .get::<SessionData>(id)
            .await
            .map_err(SessionError::from)?
            .ok_or(SessionError::NotFound)?;
        let mut data = current.value;
        let result = change(&mut data)?;
        match store
            .replace(id, &data, current.version)
            .await
            .map_err(SessionError::from)?
        {
            Ok(_) => return Ok((result, data)),
            Err(store::sessions::Conflict) => continue,
        }
    }
    Err(SessionError::Busy.into())
}
