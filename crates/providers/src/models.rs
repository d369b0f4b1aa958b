//! What each image model can make: its size tiers and aspect ratios, per model id. The server
//! refuses a request the configured model cannot make (400, naming what it can) before any
//! provider call, and `GET /api/meta` lists the same sets so the browser offers only those.
//!
//! Sources: `../shared/provider-contracts.md` §2.2 and the 2026-11-25 model update; the table in
//! docs/providers.md says the same. An id not in the table gets [`Capabilities::CONSERVATIVE`]:
//! 1K only (no `imageSize` sent) and the ten classic ratios, which every Gemini image model
//! since Nano Banana accepts, so an unknown or newer id still works at the cost of the extras.

use contracts::{AspectRatio, ImageSize};

/// The sizes and ratios one model makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Smallest first; always holds [`ImageSize::OneK`].
    pub sizes: &'static [ImageSize],
    /// In picker order.
    pub ratios: &'static [AspectRatio],
    /// False for models that take no `imageSize` field at all (it is left out of the request).
    pub sends_size: bool,
}

const ALL_SIZES: &[ImageSize] = &ImageSize::ALL;
const ONE_K: &[ImageSize] = &[ImageSize::OneK];

impl Capabilities {
    /// Any size, any ratio: the offline renderer draws them all.
    pub const EVERYTHING: Capabilities = Capabilities {
        sizes: ALL_SIZES,
        ratios: &AspectRatio::ALL,
        sends_size: true,
    };

    /// What an id missing from [`MODELS`] gets.
    pub const CONSERVATIVE: Capabilities = Capabilities {
        sizes: ONE_K,
        ratios: &AspectRatio::CLASSIC,
        sends_size: false,
    };

    /// True when the model makes `size` at `ratio`.
    pub fn allows(&self, size: ImageSize, ratio: AspectRatio) -> bool {
        self.sizes.contains(&size) && self.ratios.contains(&ratio)
    }

    /// `"1K, 2K"`: the sizes, for an error message.
    pub fn sizes_text(&self) -> String {
        self.sizes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `"16:9, 21:9, ..."`: the ratios, for an error message.
    pub fn ratios_text(&self) -> String {
        self.ratios
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Gemini image model ids and what each makes (checked 2026-11-25).
pub const MODELS: &[(&str, Capabilities)] = &[
    // Nano Banana 2.1: 1K/2K/4K (its 512 tier answers 400), 14 ratios incl. 1:4 4:1 1:8 8:1.
    ("gemini-nano-banana-2.1", Capabilities::EVERYTHING),
    // Nano Banana 2: 1K/2K/4K (its 512 px tier is not offered here), the newer Flash ratios.
    ("gemini-3.1-flash-image", Capabilities::EVERYTHING),
    // Nano Banana Pro: 1K/2K/4K, the ten classic ratios.
    (
        "gemini-3-pro-image",
        Capabilities {
            sizes: ALL_SIZES,
            ratios: &AspectRatio::CLASSIC,
            sends_size: true,
        },
    ),
    // Nano Banana: 1K only, and it takes no `imageSize` field.
    ("gemini-2.5-flash-image", Capabilities::CONSERVATIVE),
];

/// What the model `id` makes; [`Capabilities::CONSERVATIVE`] for an id not in [`MODELS`].
pub fn capabilities(id: &str) -> Capabilities {
    let id = id.trim().trim_start_matches("models/");
    MODELS
        .iter()
        .find(|(known, _)| *known == id)
        .map_or(Capabilities::CONSERVATIVE, |(_, caps)| *caps)
}

/// True when `id` is in [`MODELS`] (the start-up log says when it is not).
pub fn is_known(id: &str) -> bool {
    let id = id.trim().trim_start_matches("models/");
    MODELS.iter().any(|(known, _)| *known == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nano_banana_2_1_makes_every_size_and_the_fourteen_ratios() {
        let caps = capabilities("gemini-nano-banana-2.1");
        assert_eq!(caps.sizes, &ImageSize::ALL);
        assert_eq!(caps.ratios.len(), 14);
        for ratio in ["1:4", "4:1", "1:8", "8:1", "21:9", "1:1"] {
            let ratio = AspectRatio::parse(ratio).expect("a ratio");
            assert!(caps.allows(ImageSize::FourK, ratio), "{ratio:?}");
        }
    }

    #[test]
    fn the_pro_model_has_the_sizes_but_not_the_extreme_ratios() {
        let caps = capabilities("gemini-3-pro-image");
        assert!(caps.allows(ImageSize::FourK, AspectRatio::Landscape16x9));
        assert!(!caps.allows(ImageSize::OneK, AspectRatio::Wide8x1));
    }

    #[test]
    fn the_oldest_model_and_unknown_ids_make_1k_classic_ratios_only() {
        for id in ["gemini-2.5-flash-image", "some-future-image-model", ""] {
            let caps = capabilities(id);
            assert_eq!(caps, Capabilities::CONSERVATIVE, "{id}");
            assert!(!caps.sends_size);
            assert!(!caps.allows(ImageSize::TwoK, AspectRatio::Square));
            assert!(caps.allows(ImageSize::OneK, AspectRatio::Cinema21x9));
        }
        assert!(is_known("models/gemini-3-pro-image"));
        assert!(!is_known("gemini-2.0-flash"));
    }

    #[test]
    fn every_model_makes_1k() {
        for (id, caps) in MODELS {
            assert!(caps.sizes.contains(&ImageSize::OneK), "{id}");
            assert!(caps.ratios.contains(&AspectRatio::Square), "{id}");
        }
    }
}
