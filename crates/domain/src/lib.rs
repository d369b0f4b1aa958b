//! Prompt Refinery's pure core. No I/O and no async: the server drives these types, and tests can
//! check every rule without a network.
//!
//! - [`template`]: loading and validating template files.
//! - [`answer`]: the content rule: whether an idea has content, and which answers are too sparse.
//! - [`refinement`]: the three-question state machine.
//! - [`composer`]: the local (offline) prompt composer and the prompt cap.

pub mod answer;
pub mod composer;
pub mod refinement;
pub mod template;

pub use answer::{has_content, is_content, is_sparse};
pub use composer::{Composition, cap_at_boundary, compose, compose_with_references, ordinal};
pub use refinement::{Answer, AnswerInput, Refinement, StepError, StepOutcome};
pub use template::{Catalog, Question, Template, TemplateError, UnknownTemplate};
