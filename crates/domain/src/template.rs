//! Templates: TOML data files, loaded and validated once at start.

use std::path::Path;
use std::sync::Arc;

use contracts::{AspectRatio, QUESTION_COUNT, TemplateSummary};
use serde::Deserialize;

use crate::answer::is_sparse;

/// The templates that ship with the binary (the files under `templates/`), named as in the repo
/// so a refusal points at the file to fix.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "templates/general-cinematic.toml",
        include_str!("../../../templates/general-cinematic.toml"),
    ),
    (
        "templates/product-shot.toml",
        include_str!("../../../templates/product-shot.toml"),
    ),
    (
        "templates/portrait.toml",
        include_str!("../../../templates/portrait.toml"),
    ),
    (
        "templates/poster-lettering.toml",
        include_str!("../../../templates/poster-lettering.toml"),
    ),
    (
        "templates/architecture-interior.toml",
        include_str!("../../../templates/architecture-interior.toml"),
    ),
    (
        "templates/food.toml",
        include_str!("../../../templates/food.toml"),
    ),
];

/// The template the picker lists first and clients fall back to.
const FIRST_TEMPLATE_ID: &str = "general-cinematic";

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
    /// The local composer's screen-reader line: `{idea}` and `{<question key>}` mark where the
    /// idea and answers go. Without it: `{idea}, in {<first key>}.`
    #[serde(default)]
    pub alt_text: Option<String>,
    pub questions: Vec<Question>,
}

/// Why a template file was refused.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read template file {file}: {reason}")]
    Read { file: String, reason: String },
    /// Not TOML, or a field missing, unknown or of the wrong type; `reason` starts with the line.
    #[error("{file}: {reason}")]
    Parse { file: String, reason: String },
    /// Parsed, but a rule is broken; `reason` starts with the field, e.g. `questions[2].hint`.
    #[error("{file}: {reason}")]
    Invalid { file: String, reason: String },
    #[error("no templates found in {0}")]
    Empty(String),
}

impl Template {
    /// Parses and validates one template file's contents.
    pub fn from_toml(file: &str, source: &str) -> Result<Template, TemplateError> {
        let template: Template = toml::from_str(source).map_err(|e| TemplateError::Parse {
            file: file.to_owned(),
            reason: match e.span() {
                Some(span) => format!("line {}: {}", line_of(source, span.start), e.message()),
                None => e.message().to_owned(),
            },
        })?;
        template
            .validate()
            .map_err(|reason| TemplateError::Invalid {
                file: file.to_owned(),
                reason,
            })?;
        Ok(template)
    }

    /// The rules every template keeps; the first broken one is named by its field path.
    fn validate(&self) -> Result<(), String> {
        if !is_slug(&self.id, 64) {
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
                return Err(format!("{field} is empty"));
            }
        }
        if !self.opening.contains("{idea}") {
            return Err("opening must contain {idea}".to_owned());
        }
        if self.questions.len() != usize::from(QUESTION_COUNT) {
            return Err(format!(
                "questions has {} entries; every template has exactly {QUESTION_COUNT}",
                self.questions.len()
            ));
        }
        for (i, q) in self.questions.iter().enumerate() {
            for (field, value, why) in [
                ("key", &q.key, "it names the answer in alt_text"),
                ("text", &q.text, "it is the question people read"),
                ("hint", &q.hint, "it is what a re-asked question shows"),
                (
                    "default",
                    &q.default,
                    "an empty default would leave a skipped question blank",
                ),
                (
                    "lead",
                    &q.lead,
                    "the local composer opens the answer's sentence with it",
                ),
            ] {
                if value.trim().is_empty() {
                    return Err(format!("questions[{i}].{field} is empty: {why}"));
                }
            }
            if !is_slug(&q.key, 32) {
                return Err(format!(
                    "questions[{i}].key {:?} must be 1-32 characters of a-z, 0-9 and '-'",
                    q.key
                ));
            }
            if self.questions[..i]
                .iter()
                .any(|earlier| earlier.key == q.key)
            {
                return Err(format!("questions[{i}].key {:?} is used twice", q.key));
            }
            // A default stands in for an answer, so it must be one the sparse-answer rule accepts.
            if is_sparse(&q.default) {
                return Err(format!(
                    "questions[{i}].default {:?} is too sparse: the sparse-answer rule would refuse it as an answer",
                    q.default
                ));
            }
        }
        if let Some(alt) = &self.alt_text {
            self.check_placeholders("alt_text", alt)?;
        }
        Ok(())
    }

    /// Every `{name}` in `pattern` must be `{idea}` or a question key.
    fn check_placeholders(&self, field: &str, pattern: &str) -> Result<(), String> {
        let mut rest = pattern;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                return Err(format!("{field} has a '{{' without a closing '}}'"));
            };
            let name = &after[..close];
            if name != "idea" && !self.questions.iter().any(|q| q.key == name) {
                let keys: Vec<&str> = self.questions.iter().map(|q| q.key.as_str()).collect();
                return Err(format!(
                    "{field} names {{{name}}}, which is neither {{idea}} nor a question key ({})",
                    keys.join(", ")
                ));
            }
            rest = &after[close + 1..];
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
            example_url: contracts::paths::template_example(&self.id),
        }
    }
}

/// 1-`max` characters of a-z, 0-9 and '-'.
fn is_slug(value: &str, max: usize) -> bool {
    !value.is_empty()
        && value.len() <= max
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The 1-based line of byte offset `at` in `source`.
fn line_of(source: &str, at: usize) -> usize {
    source
        .get(..at)
        .map_or(0, |head| head.matches('\n').count())
        + 1
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
            (a.id != FIRST_TEMPLATE_ID, &a.id).cmp(&(b.id != FIRST_TEMPLATE_ID, &b.id))
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

    fn food_source() -> &'static str {
        BUILT_IN
            .iter()
            .find(|(file, _)| file.ends_with("food.toml"))
            .map(|(_, source)| *source)
            .expect("food ships")
    }

    /// The built-in food template's source with `from` replaced by `to` (once, and it must be there).
    fn food_with(from: &str, to: &str) -> String {
        let source = food_source();
        assert!(source.contains(from), "food.toml has {from:?}");
        source.replacen(from, to, 1)
    }

    /// The built-in food template's source with the line starting `prefix` replaced by `to`.
    fn food_line(prefix: &str, to: &str) -> String {
        let source = food_source();
        let line = source
            .lines()
            .find(|l| l.starts_with(prefix))
            .expect("food.toml has the line");
        source.replacen(line, to, 1)
    }

    /// The built-in set with food.toml replaced by `source`, as the loader at start sees it.
    fn start_with_food(source: String) -> Result<Catalog, TemplateError> {
        Catalog::from_sources(BUILT_IN.iter().map(|(file, built_in)| {
            let text = if file.ends_with("food.toml") {
                source.clone()
            } else {
                (*built_in).to_owned()
            };
            ((*file).to_owned(), text)
        }))
    }

    #[test]
    fn six_templates_ship_each_with_its_own_questions() {
        let catalog = Catalog::built_in().expect("built-in templates are valid");
        let ids: Vec<&str> = catalog.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "general-cinematic",
                "architecture-interior",
                "food",
                "portrait",
                "poster-lettering",
                "product-shot"
            ]
        );
        let mut seen_questions = std::collections::HashSet::new();
        for t in catalog.iter() {
            assert_eq!(t.questions.len(), 3, "{}", t.id);
            for q in &t.questions {
                assert!(
                    seen_questions.insert(q.text.as_str()),
                    "{}: {:?} is asked by another template too",
                    t.id,
                    q.text
                );
            }
        }
    }

    #[test]
    fn every_built_in_hint_gives_two_quoted_examples() {
        // The house style (docs/templates.md): two contrasting examples show the size of an answer.
        for t in Catalog::built_in().expect("valid").iter() {
            for (i, q) in t.questions.iter().enumerate() {
                let quoted = q.hint.matches('"').count();
                assert_eq!(quoted, 4, "{}: questions[{i}].hint {:?}", t.id, q.hint);
                assert!(q.hint.contains(" or "), "{}: questions[{i}]", t.id);
            }
        }
    }

    #[test]
    fn a_broken_file_stops_the_start_naming_the_file_and_the_field() {
        let cases = [
            (
                food_line("hint = \"Name the plate", "hint = \"\""),
                "templates/food.toml: questions[1].hint is empty",
            ),
            (
                food_with(
                    "default = \"soft natural window light from behind and to one side, the camera at 45° with a shallow depth of field\"",
                    "default = \"  \"",
                ),
                "templates/food.toml: questions[2].default is empty",
            ),
            (
                food_with("lead = \"Texture and detail:\"", "lead = \"\""),
                "templates/food.toml: questions[0].lead is empty",
            ),
            (
                food_with(
                    "default = \"fresh, true-to-life textures with a natural sheen and a small, neat garnish\"",
                    "default = \"idk\"",
                ),
                "templates/food.toml: questions[0].default \"idk\" is too sparse",
            ),
            (
                food_with(
                    "default = \"fresh, true-to-life textures with a natural sheen and a small, neat garnish\"",
                    "default = \"🍰\"",
                ),
                "templates/food.toml: questions[0].default \"🍰\" is too sparse",
            ),
            (
                food_with("key = \"light\"", "key = \"texture\""),
                "templates/food.toml: questions[2].key \"texture\" is used twice",
            ),
            (
                food_with("key = \"styling\"", "key = \"Styling!\""),
                "templates/food.toml: questions[1].key \"Styling!\" must be",
            ),
            (
                food_with("{idea}, served on {styling}.", "{idea} on {plate}."),
                "templates/food.toml: alt_text names {plate}, which is neither {idea} nor a question key (texture, styling, light)",
            ),
            (
                food_with("A food photograph of {idea}.", "A food photograph."),
                "templates/food.toml: opening must contain {idea}",
            ),
            (
                food_with("name = \"Food photography\"", "name = \"\""),
                "templates/food.toml: name is empty",
            ),
            (
                food_with("id = \"food\"", "id = \"Food\""),
                "templates/food.toml: id \"Food\" must be",
            ),
            (
                food_with("id = \"food\"", "id = \"portrait\""),
                "templates/food.toml: template id \"portrait\" is used twice",
            ),
        ];
        for (source, expected) in cases {
            let err = start_with_food(source).expect_err(expected);
            assert!(err.to_string().starts_with(expected), "{err}");
        }
    }

    #[test]
    fn a_missing_or_unknown_field_is_named_with_its_line() {
        let missing = food_line("hint = \"Give the light and the angle", "");
        // The line is the [[questions]] header of the table that lacks it: the third one.
        let header = food_source()
            .lines()
            .enumerate()
            .filter(|(_, l)| *l == "[[questions]]")
            .nth(2)
            .map(|(i, _)| i + 1)
            .expect("three questions");
        let err = start_with_food(missing).expect_err("missing hint");
        assert_eq!(
            err.to_string(),
            format!("templates/food.toml: line {header}: missing field `hint`")
        );

        let typo = food_with("lead = \"Light and angle:\"", "laed = \"Light and angle:\"");
        let line = typo
            .lines()
            .position(|l| l.starts_with("laed"))
            .expect("the typo")
            + 1;
        let err = start_with_food(typo).expect_err("unknown field");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!(
                "templates/food.toml: line {line}: unknown field `laed`"
            )),
            "{message}"
        );
    }

    #[test]
    fn a_template_dir_is_loaded_and_a_broken_file_in_it_is_named_by_path() {
        let dir = std::env::temp_dir().join(format!(
            "refinery-templates-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        for (file, source) in BUILT_IN {
            let name = file.trim_start_matches("templates/");
            std::fs::write(dir.join(name), source).expect("written");
        }
        std::fs::write(dir.join("README.md"), "not a template").expect("written");
        let loaded = Catalog::load_dir(&dir).map(|c| c.iter().count());

        let broken = food_with("key = \"light\"", "key = \"texture\"");
        std::fs::write(dir.join("food.toml"), broken).expect("written");
        let refused = Catalog::load_dir(&dir).map(|c| c.iter().count());
        let _ = std::fs::remove_dir_all(&dir);

        assert_eq!(loaded.expect("the built-in files load from a dir"), 6);
        let message = refused.expect_err("a broken file").to_string();
        let path = dir.join("food.toml").display().to_string();
        assert_eq!(
            message,
            format!("{path}: questions[2].key \"texture\" is used twice")
        );
    }

    #[test]
    fn without_alt_text_the_old_pattern_is_kept() {
        let source = built_in_source().replacen("alt_text = \"{idea}, in {setting}.\"\n", "", 1);
        let template = Template::from_toml("t.toml", &source).expect("alt_text is optional");
        assert_eq!(template.alt_text, None);
    }
}
