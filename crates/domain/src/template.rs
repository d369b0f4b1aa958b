//! Templates: TOML data files, loaded and validated once at start.

use std::path::Path;
use std::sync::Arc;

use contracts::{AspectRatio, QUESTION_COUNT, TemplateSummary};
use serde::Deserialize;

/// The templates that ship with the binary (the files under `templates/`).
const BUILT_IN: &[(&str, &str)] = &[(
    "general-cinematic.toml",
    include_str!("../../../templates/general-cinematic.toml"),
)];

/// One refinement question.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Short machine name, e.g. `setting`.
    pub key: String,
    pub text: String,
    /// Shown under the question, and again when a sparse answer is re-asked.
    pub hint: String,
    /// Used when the question is skipped or answered sparsely twice.
    pub default: String,
    /// How the local composer opens this answer's sentence, e.g. "The scene is set in".
    pub lead: String,
}

/// No template has this id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown template {0:?}")]
pub struct UnknownTemplate(pub String);

/// A validated template.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub description: String,
    pub default_aspect_ratio: AspectRatio,
    /// Synthesis instructions for the live prompt writer. Server-side only.
    pub instructions: String,
    /// The local composer's first sentence; `{idea}` marks where the idea goes.
    pub opening: String,
    /// The local composer's closing style sentence.
    pub style: String,
    pub questions: Vec<Question>,
}

/// Why a template file was refused.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read template file {file}: {reason}")]
    Read { file: String, reason: String },
    #[error("template file {file} is not valid TOML for a template: {reason}")]
    Parse { file: String, reason: String },
    #[error("template file {file}: {reason}")]
    Invalid { file: String, reason: String },
    #[error("no templates found in {0}")]
    Empty(String),
}

impl Template {
    /// Parses and validates one template file's contents.
    pub fn from_toml(file: &str, source: &str) -> Result<Template, TemplateError> {
        let template: Template = toml::from_str(source).map_err(|e| TemplateError::Parse {
            file: file.to_owned(),
            reason: e.message().to_owned(),
        })?;
        template
            .validate()
            .map_err(|reason| TemplateError::Invalid {
                file: file.to_owned(),
                reason,
            })?;
        Ok(template)
    }

    fn validate(&self) -> Result<(), String> {
        let slug_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !slug_ok {
            return Err(format!(
                "id {:?} must be 1-64 characters of a-z, 0-9 and '-'",
                self.id
            ));
        }
        for (field, value) in [
            ("name", &self.name),
            ("description", &self.description),
            ("instructions", &self.instructions),
            ("style", &self.style),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{field} must not be empty"));
            }
        }
        if !self.opening.contains("{idea}") {
            return Err("opening must contain {idea}".to_owned());
        }
        if self.questions.len() != usize::from(QUESTION_COUNT) {
            return Err(format!(
                "has {} questions; every template has exactly {QUESTION_COUNT}",
                self.questions.len()
            ));
        }
        for (i, q) in self.questions.iter().enumerate() {
            for (field, value) in [
                ("key", &q.key),
                ("text", &q.text),
                ("hint", &q.hint),
                ("default", &q.default),
                ("lead", &q.lead),
            ] {
                if value.trim().is_empty() {
                    return Err(format!("question {} has an empty {field}", i + 1));
                }
            }
        }
        Ok(())
    }

    /// What the template picker shows.
    pub fn summary(&self) -> TemplateSummary {
        TemplateSummary {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            default_aspect_ratio: self.default_aspect_ratio,
            question_count: QUESTION_COUNT,
        }
    }
}

/// Every loaded template, in a stable order (`general-cinematic` first, then by id).
#[derive(Debug, Clone)]
pub struct Catalog {
    templates: Vec<Arc<Template>>,
}

impl Catalog {
    /// The templates compiled into the binary.
    pub fn built_in() -> Result<Catalog, TemplateError> {
        Catalog::from_sources(BUILT_IN.iter().map(|(f, s)| (f.to_string(), s.to_string())))
    }

    /// Loads every `*.toml` file in `dir`.
    pub fn load_dir(dir: &Path) -> Result<Catalog, TemplateError> {
        let read_err = |reason: String| TemplateError::Read {
            file: dir.display().to_string(),
            reason,
        };
        let mut sources = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| read_err(e.to_string()))? {
            let path = entry.map_err(|e| read_err(e.to_string()))?.path();
            if path.extension().is_some_and(|e| e == "toml") {
                let file = path.display().to_string();
                let source = std::fs::read_to_string(&path).map_err(|e| TemplateError::Read {
                    file: file.clone(),
                    reason: e.to_string(),
                })?;
                sources.push((file, source));
            }
        }
        if sources.is_empty() {
            return Err(TemplateError::Empty(dir.display().to_string()));
        }
        Catalog::from_sources(sources)
    }

    /// Parses and validates `(file name, contents)` pairs; ids must be unique.
    pub fn from_sources(
        sources: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Catalog, TemplateError> {
        let mut templates: Vec<Arc<Template>> = Vec::new();
        for (file, source) in sources {
            let template = Template::from_toml(&file, &source)?;
            if templates.iter().any(|t| t.id == template.id) {
                return Err(TemplateError::Invalid {
                    file,
                    reason: format!("template id {:?} is used twice", template.id),
                });
            }
            templates.push(Arc::new(template));
        }
        templates.sort_by(|a, b| {
            (a.id != "general-cinematic", &a.id).cmp(&(b.id != "general-cinematic", &b.id))
        });
        Ok(Catalog { templates })
    }

    /// The template with this id.
    pub fn get(&self, id: &str) -> Option<Arc<Template>> {
        self.templates.iter().find(|t| t.id == id).cloned()
    }

    /// The template with this id, or the error naming it: the one lookup every request uses
    /// (the server answers it with 404 `template_not_found`).
    pub fn find(&self, id: &str) -> Result<Arc<Template>, UnknownTemplate> {
        self.get(id).ok_or_else(|| UnknownTemplate(id.to_owned()))
    }

    /// All templates in picker order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Template>> {
        self.templates.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built_in_source() -> String {
        BUILT_IN[0].1.to_owned()
    }

    #[test]
    fn the_built_in_catalog_starts_with_general_cinematic() {
        let catalog = Catalog::built_in().expect("built-in templates are valid");
        let first = catalog.iter().next().expect("one template");
        assert_eq!(first.id, "general-cinematic");
        assert_eq!(first.questions.len(), 3);
        assert_eq!(first.default_aspect_ratio, AspectRatio::Landscape16x9);
    }

    #[test]
    fn a_template_with_four_questions_is_refused() {
        let source = built_in_source()
            + "\n[[questions]]\nkey = \"x\"\ntext = \"x\"\nhint = \"x\"\ndefault = \"x\"\nlead = \"x\"\n";
        let err = Template::from_toml("four.toml", &source).expect_err("four questions");
        assert!(err.to_string().contains("exactly 3"), "{err}");
    }

    #[test]
    fn a_question_without_a_default_is_refused() {
        let source = built_in_source().replacen(
            "default = \"a real, specific location at golden hour\"",
            "default = \" \"",
            1,
        );
        let err = Template::from_toml("t.toml", &source).expect_err("empty default");
        assert!(err.to_string().contains("empty default"), "{err}");
    }

    #[test]
    fn unknown_aspect_ratios_and_fields_are_refused() {
        let bad_ratio = built_in_source().replacen("\"16:9\"", "\"7:5\"", 1);
        assert!(Template::from_toml("t.toml", &bad_ratio).is_err());
        let extra = format!("colour = \"red\"\n{}", built_in_source());
        assert!(Template::from_toml("t.toml", &extra).is_err());
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let s = built_in_source();
        let err = Catalog::from_sources([("a.toml".into(), s.clone()), ("b.toml".into(), s)])
            .expect_err("duplicate");
        assert!(err.to_string().contains("used twice"), "{err}");
    }
}
