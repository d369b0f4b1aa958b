//! The wire contract of the Prompt Refinery API: request and response bodies, the error envelope,
//! the stable error codes and the API paths; and the fault-script words that make providers fail
//! on purpose ([`faults`]), since they are spelled as those error codes.
//!
//! Serde only, so the same types compile into the axum server and the Leptos (wasm32) client and the
//! two cannot disagree about a field. JSON is camelCase throughout.

use serde::{Deserialize, Serialize};

pub mod codes;
pub mod faults;
pub mod format;
pub mod paths;

/// Longest idea accepted by `POST /api/session/start`, in characters.
pub const IDEA_MAX_CHARS: usize = 500;
/// Longest answer accepted by `POST /api/session/answer`, in characters.
pub const ANSWER_MAX_CHARS: usize = 300;
/// Every template asks exactly this many refinement questions.
pub const QUESTION_COUNT: u8 = 3;

/// The text limits as JSON Schema patterns, for the OpenAPI document. The server trims before it
/// counts, so a pattern says it, not `maxLength`: surrounding whitespace, then the text itself.
/// Whitespace is spelled out as what `str::trim` removes (Unicode `White_Space`), since `\s`
/// means something slightly different in ECMAScript, in Python (where schemathesis runs) and in Rust.
#[cfg(feature = "schema")]
mod pattern {
    macro_rules! space {
        () => {
            r"[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        };
    }
    macro_rules! text {
        () => {
            r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        };
    }
    /// An idea: 1 to [`super::IDEA_MAX_CHARS`] (500) characters once trimmed.
    pub const IDEA: &str = concat!(
        "^",
        space!(),
        "*",
        text!(),
        r"(?:[\s\S]{0,498}",
        text!(),
        ")?",
        space!(),
        "*$"
    );
    /// An answer: at most [`super::ANSWER_MAX_CHARS`] (300) characters once trimmed.
    pub const ANSWER: &str = concat!(
        "^",
        space!(),
        "*(?:",
        text!(),
        r"(?:[\s\S]{0,298}",
        text!(),
        ")?)?",
        space!(),
        "*$"
    );
    /// An edit instruction: 1 to [`super::MAX_EDIT_INSTRUCTION_CHARS`] (300) characters once
    /// trimmed.
    pub const INSTRUCTION: &str = concat!(
        "^",
        space!(),
        "*",
        text!(),
        r"(?:[\s\S]{0,298}",
        text!(),
        ")?",
        space!(),
        "*$"
    );
    /// Nothing but whitespace (an answer sent with `skip: true`).
    pub const BLANK: &str = concat!("^", space!(), "*$");

    /// `skip: true` and a non-blank answer together are refused.
    pub fn skip_or_answer(schema: &mut schemars::Schema) {
        let branches = vec![
            schemars::json_schema!({"properties": {"skip": {"enum": [false]}}}).to_value(),
            schemars::json_schema!({"properties": {"answer": {"pattern": BLANK}}}).to_value(),
        ];
        schema.insert("anyOf".into(), branches.into());
    }

    /// Either a generation (no `editOf`, no `instruction`) or an edit: both, and nothing that
    /// an edit takes from the edited image (`count` other than 1, `reusePrompt`, `aspectRatio`,
    /// `imageSize`).
    pub fn generate_or_edit(schema: &mut schemars::Schema) {
        let branches = vec![
            schemars::json_schema!({
                "properties": {"editOf": {"type": "null"}, "instruction": {"type": "null"}}
            })
            .to_value(),
            schemars::json_schema!({
                "required": ["editOf", "instruction"],
                "properties": {
                    "editOf": {"type": "string"},
                    "instruction": {"type": "string", "pattern": INSTRUCTION},
                    "count": {"type": ["integer", "null"], "enum": [1, null]},
                    "reusePrompt": {"enum": [false]},
                    "aspectRatio": {"type": "null"},
                    "imageSize": {"type": "null"}
                }
            })
            .to_value(),
        ];
        schema.insert("oneOf".into(), branches.into());
    }

    /// Either a template and an idea, or a recipe id alone.
    pub fn start_or_recipe(schema: &mut schemars::Schema) {
        let branches = vec![
            schemars::json_schema!({
                "required": ["templateId", "initialInput"],
                "properties": {"templateId": {"minLength": 1}, "recipeId": {"type": "null"}}
            })
            .to_value(),
            schemars::json_schema!({
                "required": ["recipeId"],
                "properties": {
                    "recipeId": {"type": "string"},
                    "templateId": {"maxLength": 0},
                    "initialInput": {"maxLength": 0}
                }
            })
            .to_value(),
        ];
        schema.insert("oneOf".into(), branches.into());
    }
}

/// The error envelope every non-2xx response carries: `{"error": "...", "code": "..."}`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// A sentence a person can act on.
    pub error: String,
    /// A stable snake_case code for scripts (see [`codes`]).
    pub code: String,
}

/// Image aspect ratios, as Gemini's `imageConfig.aspectRatio` accepts them.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AspectRatio {
    #[serde(rename = "1:1")]
    Square,
    #[serde(rename = "2:3")]
    Portrait2x3,
    #[serde(rename = "3:2")]
    Landscape3x2,
    #[serde(rename = "3:4")]
    Portrait3x4,
    #[serde(rename = "4:3")]
    Landscape4x3,
    #[serde(rename = "4:5")]
    Portrait4x5,
    #[serde(rename = "5:4")]
    Landscape5x4,
    #[serde(rename = "9:16")]
    Portrait9x16,
    #[serde(rename = "16:9")]
    Landscape16x9,
    #[serde(rename = "21:9")]
    Cinema21x9,
    #[serde(rename = "1:4")]
    Tall1x4,
    #[serde(rename = "4:1")]
    Wide4x1,
    #[serde(rename = "1:8")]
    Tall1x8,
    #[serde(rename = "8:1")]
    Wide8x1,
}

impl AspectRatio {
    /// Every accepted ratio, in the order a picker shows them.
    pub const ALL: [AspectRatio; 14] = [
        AspectRatio::Wide8x1,
        AspectRatio::Wide4x1,
        AspectRatio::Landscape16x9,
        AspectRatio::Cinema21x9,
        AspectRatio::Landscape3x2,
        AspectRatio::Landscape4x3,
        AspectRatio::Landscape5x4,
        AspectRatio::Square,
        AspectRatio::Portrait4x5,
        AspectRatio::Portrait3x4,
        AspectRatio::Portrait2x3,
        AspectRatio::Portrait9x16,
        AspectRatio::Tall1x4,
        AspectRatio::Tall1x8,
    ];

    /// The ten ratios every Gemini image model takes (the four extreme ones are newer).
    pub const CLASSIC: [AspectRatio; 10] = [
        AspectRatio::Landscape16x9,
        AspectRatio::Cinema21x9,
        AspectRatio::Landscape3x2,
        AspectRatio::Landscape4x3,
        AspectRatio::Landscape5x4,
        AspectRatio::Square,
        AspectRatio::Portrait4x5,
        AspectRatio::Portrait3x4,
        AspectRatio::Portrait2x3,
        AspectRatio::Portrait9x16,
    ];

    /// The `w:h` string used on the wire, e.g. `"16:9"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AspectRatio::Square => "1:1",
            AspectRatio::Portrait2x3 => "2:3",
            AspectRatio::Landscape3x2 => "3:2",
            AspectRatio::Portrait3x4 => "3:4",
            AspectRatio::Landscape4x3 => "4:3",
            AspectRatio::Portrait4x5 => "4:5",
            AspectRatio::Landscape5x4 => "5:4",
            AspectRatio::Portrait9x16 => "9:16",
            AspectRatio::Landscape16x9 => "16:9",
            AspectRatio::Cinema21x9 => "21:9",
            AspectRatio::Tall1x4 => "1:4",
            AspectRatio::Wide4x1 => "4:1",
            AspectRatio::Tall1x8 => "1:8",
            AspectRatio::Wide8x1 => "8:1",
        }
    }

    /// Width and height parts of the ratio.
    pub fn parts(self) -> (u32, u32) {
        match self {
            AspectRatio::Square => (1, 1),
            AspectRatio::Portrait2x3 => (2, 3),
            AspectRatio::Landscape3x2 => (3, 2),
            AspectRatio::Portrait3x4 => (3, 4),
            AspectRatio::Landscape4x3 => (4, 3),
            AspectRatio::Portrait4x5 => (4, 5),
            AspectRatio::Landscape5x4 => (5, 4),
            AspectRatio::Portrait9x16 => (9, 16),
            AspectRatio::Landscape16x9 => (16, 9),
            AspectRatio::Cinema21x9 => (21, 9),
            AspectRatio::Tall1x4 => (1, 4),
            AspectRatio::Wide4x1 => (4, 1),
            AspectRatio::Tall1x8 => (1, 8),
            AspectRatio::Wide8x1 => (8, 1),
        }
    }

    /// Parses the `w:h` wire form.
    pub fn parse(s: &str) -> Option<AspectRatio> {
        AspectRatio::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
    }
}

/// Output resolution tiers, as Gemini's `imageConfig.imageSize` spells them (upper-case `K`).
/// 1K puts about a million pixels in the image (a 1:1 image is 1024 px wide), 2K four times
/// that, 4K sixteen times.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum ImageSize {
    #[default]
    #[serde(rename = "1K")]
    OneK,
    #[serde(rename = "2K")]
    TwoK,
    #[serde(rename = "4K")]
    FourK,
}

impl ImageSize {
    /// Every tier, smallest first.
    pub const ALL: [ImageSize; 3] = [ImageSize::OneK, ImageSize::TwoK, ImageSize::FourK];

    /// The wire form, e.g. `"2K"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageSize::OneK => "1K",
            ImageSize::TwoK => "2K",
            ImageSize::FourK => "4K",
        }
    }

    /// The side of a square image at this tier, in pixels.
    pub fn square_edge(self) -> u32 {
        match self {
            ImageSize::OneK => 1024,
            ImageSize::TwoK => 2048,
            ImageSize::FourK => 4096,
        }
    }
}

/// Images one `POST /api/generate` may ask for.
pub const MAX_IMAGES_PER_JOB: u8 = 4;

/// One template as the picker shows it. Its synthesis instructions stay on the server.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSummary {
    pub id: String,
    pub name: String,
    pub description: String,
    pub default_aspect_ratio: AspectRatio,
    pub question_count: u8,
    /// A small PNG sketch of what the template makes, drawn by the offline renderer from its
    /// defaults (`GET /api/templates/{templateId}/example`; the query changes with the template).
    pub example_url: String,
}

/// `GET /api/templates`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplatesResponse {
    pub templates: Vec<TemplateSummary>,
}

/// Whether images and prompts come from the real providers or the offline stand-ins.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderMode {
    /// No API keys: the local prompt composer and the local preview renderer.
    Offline,
    /// OpenAI and Nano Banana.
    Live,
}

/// `GET /api/meta`: what the server runs with, so a client can label offline previews.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetaResponse {
    /// `offline` when either provider is the local stand-in.
    pub mode: ProviderMode,
    /// Human label of the prompt writer, e.g. "Local prompt composer (offline)".
    pub synthesizer: String,
    /// Human label of the image provider, e.g. "Local preview renderer (offline)".
    pub image_provider: String,
    /// The ratios the configured image model can make, in picker order.
    pub aspect_ratios: Vec<AspectRatio>,
    /// The sizes the configured image model can make, smallest first (always has `1K`).
    pub image_sizes: Vec<ImageSize>,
    /// Most images one generate request may ask for (`count`).
    pub max_images_per_job: u8,
    /// Whether the image service takes images with a request: reference images and edits in
    /// words. False for a task-mode reseller, which takes only public URLs.
    #[serde(default = "yes")]
    pub takes_images: bool,
    pub idea_max_chars: usize,
    pub answer_max_chars: usize,
    pub version: String,
}

fn yes() -> bool {
    true
}

/// `POST /api/session/start`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(transform = pattern::start_or_recipe))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartSessionRequest {
    /// Required unless `recipeId` is given.
    #[serde(default)]
    pub template_id: String,
    /// The idea: 1 to 500 characters once surrounding whitespace is trimmed, with some letter or
    /// digit (of any script) among them. Required unless `recipeId` is given.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(pattern(pattern::IDEA)))]
    pub initial_input: String,
    /// Start from a recipe link instead (then send neither `templateId` nor `initialInput`): the
    /// recipe's template, idea and answers, ready to generate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe_id: Option<String>,
}

/// `POST /api/session/answer`. Either an answer, or `skip: true` to take the template's default.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(transform = pattern::skip_or_answer))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnswerRequest {
    /// At most 300 characters once trimmed; blank with `skip: true`.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(pattern(pattern::ANSWER)))]
    pub answer: String,
    #[serde(default)]
    pub skip: bool,
}

/// `GET /api/session/resume`: the session this browser has, or `null`. Always 200, so a first
/// visit (no cookie yet) makes no failed request.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResumeResponse {
    pub session: Option<SessionView>,
}

/// `POST /api/session/back`: return to question `question` (1..=3) to change answers.
/// The earlier answers from that question on are kept and shown as `previousAnswer`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackRequest {
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = QUESTION_COUNT)))]
    pub question: u8,
}

/// Where a session is in the flow.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// A question is waiting for an answer.
    Refining,
    /// All three answers are in; images can be generated.
    Ready,
}

/// The question waiting for an answer.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionView {
    /// 1-based position: "Question `index` of `total`".
    pub index: u8,
    pub total: u8,
    pub text: String,
    pub hint: String,
    /// True when the previous answer to this question was too sparse and it is asked once more.
    pub reask: bool,
    /// What the person answered here before going back, to prefill the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_answer: Option<String>,
}

/// An answer as the session recorded it.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerView {
    /// 1-based question index.
    pub index: u8,
    pub question: String,
    /// The question's hint (the kind of answer that works), for editing the answer in place.
    #[serde(default)]
    pub hint: String,
    /// The text used: the person's words, or the template default.
    pub answer: String,
    /// True when the template default was used (skipped, or sparse twice).
    pub defaulted: bool,
    /// True when the person chose Skip.
    pub skipped: bool,
}

/// An image ready to show.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageView {
    /// The image's id (32 hex characters), the last part of `url`.
    #[serde(default)]
    pub image_id: String,
    /// Same-origin URL of the bytes, `/api/images/{imageId}`.
    pub url: String,
    pub mime_type: String,
    pub width: u32,
    pub height: u32,
    pub alt: String,
    /// The one-line "what we understood" summary of the brief.
    pub summary: String,
    pub aspect_ratio: AspectRatio,
    /// The size tier asked for.
    #[serde(default)]
    pub image_size: ImageSize,
    /// True when the local preview renderer drew it (no image API key configured).
    pub offline_preview: bool,
}

/// Progress of one generation job.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    /// Writing the final prompt.
    Synthesizing,
    /// Waiting for the image provider.
    Rendering,
    /// Saving the finished image.
    Storing,
    Succeeded,
    Failed,
}

impl JobStatus {
    /// True once the job will not change again.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed)
    }
}

/// `POST /api/generate`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "schema", schemars(transform = pattern::generate_or_edit))]
pub struct GenerateRequest {
    /// Defaults to the template's ratio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<AspectRatio>,
    /// True: a new image from the last prompt ("new take"). False: write the prompt again ("re-think").
    #[serde(default)]
    pub reuse_prompt: bool,
    /// How many images (variations) to make from the one prompt: 1 to 4, default 1. Each is one
    /// provider call and one unit of quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_IMAGES_PER_JOB)))]
    pub count: Option<u8>,
    /// `1K` (default), `2K` or `4K`, where the configured model makes it (`GET /api/meta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_size: Option<ImageSize>,
    /// Edit in words: the id of one of this session's images to send back to the image model
    /// with `instruction`. The prompt writer is not used; one image, one unit of quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_of: Option<String>,
    /// For `editOf`: what to change, 1 to 300 characters once trimmed ("make it night, with
    /// rain").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruction: Option<String>,
}

/// Longest edit instruction, in characters.
pub const MAX_EDIT_INSTRUCTION_CHARS: u32 = 300;

/// How far the images of a rendering job are.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobProgress {
    /// Images finished (made or failed).
    pub done: u8,
    /// Images asked for.
    pub total: u8,
}

/// The images of a succeeded job that did not come out.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedImages {
    /// How many of the images asked for failed.
    pub count: u8,
    /// The stable code of the first failure, e.g. `provider_unavailable` (docs/errors.md).
    pub code: String,
}

/// `POST /api/generate` (202) and `GET /api/generate/{jobId}` (200).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub job_id: String,
    pub status: JobStatus,
    /// Present when `status` is `succeeded`: the first of `images`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageView>,
    /// Present when `status` is `succeeded`: every image made, in the order asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageView>,
    /// Present when `status` is `succeeded` and some of the images asked for failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_images: Option<FailedImages>,
    /// Present while `status` is `rendering`: images finished so far of those asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<JobProgress>,
    /// Present when `status` is `failed`: `code` is a generation outcome from docs/errors.md
    /// (`synthesis_refused`, `synthesis_incomplete`, `synthesis_failed`, `content_blocked`,
    /// `no_image`, `rate_limited`, `provider_quota`, `provider_auth`,
    /// `provider_model_unavailable`, `provider_unavailable`, `provider_timeout`,
    /// `provider_bad_response`, `generation_interrupted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiErrorBody>,
}

/// The whole state a client needs to draw (or resume) the flow.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub template_id: String,
    pub template_name: String,
    pub idea: String,
    pub status: SessionStatus,
    /// The question waiting for an answer; absent when `status` is `ready`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<QuestionView>,
    /// Recorded answers, in question order.
    pub answers: Vec<AnswerView>,
    /// The template's ratio, used when a generate request names none.
    pub default_aspect_ratio: AspectRatio,
    /// The newest generation job, running or finished, so a reloaded page can pick it up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobView>,
    /// The newest successful image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_image: Option<ImageView>,
    /// Every image this session made that the server still lists, newest first (`lastImage` is
    /// the first). New takes, failures, re-thinks and changed answers never remove one.
    #[serde(default)]
    pub images: Vec<ImageView>,
    /// True when a prompt has been written, so "new take (same prompt)" is possible.
    pub can_reuse_prompt: bool,
    /// Today's generation limits, when the server has any and counts this session's generations
    /// (live providers only: absent offline, where nothing is counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaView>,
    /// The reference images uploaded to this session, in upload order (never their bytes).
    #[serde(default)]
    pub references: Vec<ReferenceView>,
}

/// Most reference images one session holds.
pub const REFERENCES_MAX: usize = 3;
/// Largest reference upload, in bytes (7 MiB).
pub const REFERENCE_MAX_BYTES: usize = 7 * 1024 * 1024;
/// Largest reference image side, in pixels.
pub const REFERENCE_MAX_SIDE: u32 = 4096;
/// Longest reference note, in characters.
pub const REFERENCE_NOTE_MAX_CHARS: usize = 120;

/// A reference image as stored (`POST /api/session/references`, 201, and the session view).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceView {
    pub reference_id: String,
    /// The type of the stored bytes: `image/png` (a PNG upload) or `image/jpeg` (JPEG and WebP
    /// uploads), re-encoded without metadata.
    pub mime_type: String,
    pub width: u32,
    pub height: u32,
    /// What the image is for ("our product", "style to match"); empty when none was given.
    pub note: String,
    /// Same-origin URL of the bytes, served to this session only.
    pub url: String,
    /// A small JPEG of it for a list (`url` with `?w=256`), made on first request and kept;
    /// served to this session only.
    pub thumbnail_url: String,
}

/// How an image was made: what a person chose, never the written prompt.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRecipe {
    pub template_id: String,
    pub template_name: String,
    pub idea: String,
    /// The three answers as recorded (with their defaulted and skipped flags).
    pub answers: Vec<AnswerView>,
    pub aspect_ratio: AspectRatio,
    /// The image size tier the request asked for (`1K`, `2K`, `4K`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_size: Option<String>,
    /// How many images (variations) the request asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u8>,
    /// The reference images sent with the request, in order.
    #[serde(default)]
    pub reference_ids: Vec<String>,
    /// For an edit: the instruction, and the image it edited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_instruction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_of: Option<String>,
}

/// One image of the session's gallery.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GalleryImage {
    #[serde(flatten)]
    pub image: ImageView,
    /// A small version for a grid (`?w=256`).
    pub thumbnail_url: String,
    pub recipe: ImageRecipe,
}

/// `GET /api/session/images`: every image of this session, newest first.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GalleryResponse {
    pub images: Vec<GalleryImage>,
}

/// `POST /api/recipes`: a shareable recipe of one of this session's images (default: the newest).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRecipeRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
}

/// `POST /api/recipes` (201).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipeCreated {
    pub recipe_id: String,
    /// The browser app's page for it, `/r/{recipeId}`.
    pub url: String,
}

/// `GET /api/recipes/{recipeId}`: what anyone with the link may see.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipeView {
    pub recipe_id: String,
    #[serde(flatten)]
    pub recipe: ImageRecipe,
    /// A small version of the image it made; absent once that image was deleted or expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
}

/// What is left of today's generation limits (UTC days). `None` fields have no limit.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaView {
    pub session_left: Option<u32>,
    /// What this client address (an IPv4 address, an IPv6 /64) may still make today, across
    /// all its sessions.
    #[serde(default)]
    pub client_left: Option<u32>,
    pub global_left: Option<u32>,
    /// Seconds until the counts reset at midnight UTC.
    pub resets_in_secs: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aspect_ratio_round_trips_through_its_wire_form() {
        for ratio in AspectRatio::ALL {
            let json = serde_json::to_string(&ratio).expect("serialises");
            assert_eq!(json, format!("\"{}\"", ratio.as_str()));
            assert_eq!(serde_json::from_str::<AspectRatio>(&json).ok(), Some(ratio));
            assert_eq!(AspectRatio::parse(ratio.as_str()), Some(ratio));
        }
        assert!(serde_json::from_str::<AspectRatio>("\"7:5\"").is_err());
    }

    #[test]
    fn requests_reject_unknown_fields() {
        let err = serde_json::from_str::<StartSessionRequest>(
            r#"{"templateId":"x","initialInput":"y","extra":1}"#,
        );
        assert!(err.is_err());
        let ok = serde_json::from_str::<AnswerRequest>(r#"{"skip":true}"#).expect("skip alone");
        assert!(ok.skip && ok.answer.is_empty());
    }

    #[test]
    fn session_view_is_camel_case_and_omits_absent_parts() {
        let view = SessionView {
            template_id: "t".into(),
            template_name: "T".into(),
            idea: "i".into(),
            status: SessionStatus::Ready,
            question: None,
            answers: vec![],
            default_aspect_ratio: AspectRatio::Landscape16x9,
            job: None,
            last_image: None,
            images: vec![],
            can_reuse_prompt: false,
            quota: None,
            references: vec![],
        };
        let json = serde_json::to_value(&view).expect("serialises");
        assert_eq!(json["templateId"], "t");
        assert_eq!(json["status"], "ready");
        assert_eq!(json["defaultAspectRatio"], "16:9");
        assert!(json.get("question").is_none());
        assert!(json.get("lastImage").is_none());
    }
}
