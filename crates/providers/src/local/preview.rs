//! [`LocalPreview`]: draws a PNG sketch that follows the prompt, with no network. The palette comes
//! from time-of-day and mood words, the composition from framing words, the size from the aspect
//! ratio and size tier, the details (where the light and the subject stand, the hills, the stars)
//! from the request's seed, so variations and new takes differ; and every image says
//! "OFFLINE PREVIEW" in its corner so nobody mistakes it for a render.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use contracts::{AspectRatio, ImageSize};
use tiny_skia::{
    Color, FillRule, GradientStop, LinearGradient, Paint, PathBuilder, Pixmap, Point,
    RadialGradient, Rect, SpreadMode, Transform,
};

use crate::faults::FaultScript;
use crate::{GeneratedImage, ImageGenerator, ImageRequest, ProviderError, ProviderInfo};

/// Renders offline previews.
#[derive(Debug)]
pub struct LocalPreview {
    latency: Duration,
    faults: FaultScript,
}

impl LocalPreview {
    /// `latency` is added to each call (0 in tests).
    pub fn new(latency: Duration, faults: FaultScript) -> LocalPreview {
        LocalPreview { latency, faults }
    }
}

#[async_trait]
impl ImageGenerator for LocalPreview {
    fn info(&self) -> ProviderInfo {
        ProviderInfo {
            label: "Local preview renderer (offline)".to_owned(),
            offline: true,
        }
    }

    fn capabilities(&self) -> crate::models::Capabilities {
        crate::models::Capabilities::EVERYTHING
    }

    async fn generate(&self, request: ImageRequest<'_>) -> Result<GeneratedImage, ProviderError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        self.faults.next()?;
        let prompt = request.prompt.to_owned();
        let (ratio, size, seed) = (request.aspect_ratio, request.image_size, request.seed);
        // Drawing is CPU work: keep it off the async workers.
        tokio::task::spawn_blocking(move || render(&prompt, ratio, size, seed))
            .await
            .map_err(|_| ProviderError::BadResponse("the preview renderer stopped".into()))?
    }
}

/// Pixel size for a ratio at a size tier: the area of the tier's square (1024² at 1K, 2048² at
/// 2K) shaped to the ratio, as Gemini sizes its images (it also rounds each side to a multiple
/// of 8 or 16; the preview keeps the ratio exact instead). 4K is drawn at the 2K size offline
/// (see [`offline_size`]).
pub fn dimensions(ratio: AspectRatio, size: ImageSize) -> (u32, u32) {
    let edge = f64::from(offline_size(size).square_edge());
    let (w, h) = ratio.parts();
    let k = (f64::from(w) / f64::from(h)).sqrt();
    let side = |x: f64| (x.round() as u32).max(1);
    (side(edge * k), side(edge / k))
}

/// The tier the offline renderer draws for `size`: 4K previews are drawn at 2K, which keeps one
/// frame at 16 MiB of pixels and well under a second of drawing.
pub fn offline_size(size: ImageSize) -> ImageSize {
    match size {
        ImageSize::FourK => ImageSize::TwoK,
        other => other,
    }
}

/// What the prompt's words ask of the picture.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scene {
    sky_top: [f32; 3],
    sky_bottom: [f32; 3],
    ground: [f32; 3],
    light: [f32; 3],
    /// Sun or moon height as a fraction of the horizon height.
    light_y: f32,
    night: bool,
    neon: bool,
    /// 0 (none) to 1: how much darker the mood makes everything.
    gloom: f32,
    horizon: f32,
    subject_x: f32,
    subject_size: f32,
}

fn has(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| text.contains(w))
}

fn scene_for(prompt: &str) -> Scene {
    let p = prompt.to_lowercase();
    let (sky_top, sky_bottom, ground, light, light_y, night) = if has(
        &p,
        &["night", "midnight", "moonlit", "starry", "2 a.m", "3 a.m"],
    ) {
        (
            [0.03, 0.04, 0.14],
            [0.14, 0.16, 0.38],
            [0.03, 0.03, 0.07],
            [0.92, 0.93, 1.0],
            0.25,
            true,
        )
    } else if has(
        &p,
        &["sunset", "golden hour", "dusk", "evening", "twilight"],
    ) {
        (
            [0.20, 0.12, 0.35],
            [1.0, 0.55, 0.26],
            [0.22, 0.13, 0.09],
            [1.0, 0.78, 0.35],
            0.75,
            false,
        )
    } else if has(&p, &["dawn", "sunrise", "morning", "daybreak"]) {
        (
            [0.60, 0.76, 0.91],
            [1.0, 0.82, 0.86],
            [0.36, 0.42, 0.29],
            [1.0, 0.96, 0.75],
            0.8,
            false,
        )
    } else {
        (
            [0.23, 0.48, 0.84],
            [0.66, 0.85, 1.0],
            [0.42, 0.56, 0.14],
            [1.0, 1.0, 0.9],
            0.3,
            false,
        )
    };
    let mut scene = Scene {
        sky_top,
        sky_bottom,
        ground,
        light,
        light_y,
        night,
        neon: has(&p, &["neon", "cyberpunk", "magenta"]),
        gloom: 0.0,
        horizon: 0.66,
        subject_x: 1.0 / 3.0,
        subject_size: 0.18,
    };
    if has(
        &p,
        &[
            "noir", "gloom", "moody", "dark", "tense", "ominous", "storm",
        ],
    ) {
        scene.gloom = 0.35;
    }
    let tint = |c: &mut [f32; 3], t: [f32; 3], k: f32| {
        for i in 0..3 {
            c[i] = c[i] * (1.0 - k) + t[i] * k;
        }
    };
    if has(&p, &["warm", "amber", "orange", "gold"]) {
        tint(&mut scene.sky_bottom, [1.0, 0.6, 0.2], 0.35);
        tint(&mut scene.ground, [0.4, 0.22, 0.1], 0.3);
    }
    if has(&p, &["cold", "icy", "blue", "teal", "winter"]) {
        tint(&mut scene.sky_top, [0.1, 0.3, 0.5], 0.35);
        tint(&mut scene.sky_bottom, [0.5, 0.75, 0.85], 0.35);
    }
    if has(&p, &["pastel", "soft", "dreamy", "wistful"]) {
        for c in [&mut scene.sky_top, &mut scene.sky_bottom, &mut scene.ground] {
            tint(c, [0.95, 0.9, 0.95], 0.3);
        }
    }
    if has(
        &p,
        &[
            "close-up", "close up", "closeup", "portrait", "macro", "detail",
        ],
    ) {
        scene.subject_size = 0.38;
        scene.horizon = 0.72;
    } else if has(
        &p,
        &["wide", "establishing", "panoram", "landscape", "vista"],
    ) {
        scene.subject_size = 0.08;
        scene.horizon = 0.62;
    }
    if has(&p, &["low angle", "low-angle", "worm"]) {
        scene.horizon = 0.84;
    } else if has(
        &p,
        &[
            "high angle",
            "high-angle",
            "aerial",
            "bird",
            "overhead",
            "top-down",
            "drone",
        ],
    ) {
        scene.horizon = 0.28;
    }
    if has(&p, &["symmetr", "centered", "centred", "central"]) {
        scene.subject_x = 0.5;
    }
    scene
}

fn color(c: [f32; 3], gloom: f32, alpha: f32) -> Color {
    let k = 1.0 - gloom;
    Color::from_rgba(
        (c[0] * k).clamp(0.0, 1.0),
        (c[1] * k).clamp(0.0, 1.0),
        (c[2] * k).clamp(0.0, 1.0),
        alpha.clamp(0.0, 1.0),
    )
    .unwrap_or(Color::BLACK)
}

/// A small deterministic generator so the same prompt and seed always draw the same picture.
struct Fnv(u64);

impl Fnv {
    fn new(text: &str, seed: u64) -> Fnv {
        let mut h = 0xcbf2_9ce4_8422_2325_u64;
        for b in text.bytes().chain(seed.to_le_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        // xorshift never leaves zero.
        Fnv(h.max(1))
    }
    fn unit(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % 10_000) as f32 / 10_000.0
    }
}

fn render(
    prompt: &str,
    ratio: AspectRatio,
    tier: ImageSize,
    seed: u64,
) -> Result<GeneratedImage, ProviderError> {
    let (width, height) = dimensions(ratio, tier);
    let fail = || ProviderError::BadResponse("the preview renderer could not draw".into());
    let mut pixmap = Pixmap::new(width, height).ok_or_else(fail)?;
    let mut scene = scene_for(prompt);
    let mut rng = Fnv::new(prompt, seed);
    // Each seed moves the subject and the horizon a little, as a new render of the same prompt
    // would: enough to tell variations apart at a glance, not enough to change the framing.
    scene.subject_x = (scene.subject_x + (rng.unit() - 0.5) * 0.24).clamp(0.15, 0.85);
    scene.horizon = (scene.horizon + (rng.unit() - 0.5) * 0.08).clamp(0.2, 0.9);
    scene.subject_size *= 0.85 + rng.unit() * 0.3;
    let (w, h) = (width as f32, height as f32);
    let horizon = h * scene.horizon;
    let g = scene.gloom;

    // Sky.
    let sky = LinearGradient::new(
        Point::from_xy(0.0, 0.0),
        Point::from_xy(0.0, horizon),
        vec![
            GradientStop::new(0.0, color(scene.sky_top, g, 1.0)),
            GradientStop::new(1.0, color(scene.sky_bottom, g, 1.0)),
        ],
        SpreadMode::Pad,
        Transform::identity(),
    )
    .ok_or_else(fail)?;
    // The sky fills the whole frame so dips in the hills show sky, not gaps.
    let sky_rect = Rect::from_xywh(0.0, 0.0, w, h).ok_or_else(fail)?;
    pixmap.fill_rect(sky_rect, &shader_paint(sky), Transform::identity(), None);

    if scene.night {
        let mut star = Paint::default();
        star.set_color(Color::from_rgba8(255, 255, 255, 200));
        for _ in 0..70 {
            let (x, y) = (rng.unit() * w, rng.unit() * horizon * 0.8);
            if let Some(r) = Rect::from_xywh(x, y, 2.0, 2.0) {
                pixmap.fill_rect(r, &star, Transform::identity(), None);
            }
        }
    }

    // Sun or moon with a glow.
    let light_x = w * (1.0 - scene.subject_x) + (rng.unit() - 0.5) * w * 0.1;
    let light_y = horizon * scene.light_y;
    let radius = h * 0.07;
    if let Some(glow) = RadialGradient::new(
        Point::from_xy(light_x, light_y),
        Point::from_xy(light_x, light_y),
        radius * 4.0,
        vec![
            GradientStop::new(0.0, color(scene.light, g, 0.55)),
            GradientStop::new(1.0, color(scene.light, g, 0.0)),
        ],
        SpreadMode::Pad,
        Transform::identity(),
    ) {
        fill_circle(
            &mut pixmap,
            light_x,
            light_y,
            radius * 4.0,
            shader_paint(glow),
        );
    }
    fill_circle(
        &mut pixmap,
        light_x,
        light_y,
        radius,
        solid(color(scene.light, g, 1.0)),
    );

    // Rolling ground from the horizon down.
    let mut ground = PathBuilder::new();
    ground.move_to(0.0, horizon);
    let hills = 4;
    for i in 0..hills {
        let x0 = w * i as f32 / hills as f32;
        let x1 = w * (i + 1) as f32 / hills as f32;
        let bump = (rng.unit() - 0.5) * h * 0.08;
        ground.quad_to((x0 + x1) / 2.0, horizon + bump, x1, horizon);
    }
    ground.line_to(w, h);
    ground.line_to(0.0, h);
    ground.close();
    if let Some(path) = ground.finish() {
        pixmap.fill_path(
            &path,
            &solid(color(scene.ground, g, 1.0)),
            FillRule::Winding,
            Transform::identity(),
            None,
        );
    }

    // Neon streaks.
    if scene.neon {
        for (i, c) in [[1.0, 0.1, 0.8], [0.1, 0.95, 1.0]].into_iter().enumerate() {
            let y = horizon - h * (0.1 + 0.08 * i as f32);
            if let Some(r) = Rect::from_xywh(0.0, y, w, h * 0.012) {
                pixmap.fill_rect(r, &solid(color(c, 0.0, 0.8)), Transform::identity(), None);
            }
        }
    }

    // The subject: a silhouette standing on the horizon, sized by the framing.
    let size = h * scene.subject_size;
    let sx = w * scene.subject_x;
    let body_top = horizon - size * 1.4;
    let silhouette = color([0.05, 0.05, 0.08], 0.0, 0.92);
    fill_circle(
        &mut pixmap,
        sx,
        body_top - size * 0.45,
        size * 0.42,
        solid(silhouette),
    );
    let mut body = PathBuilder::new();
    body.move_to(sx - size * 0.6, horizon + size * 0.3);
    body.quad_to(sx - size * 0.55, body_top, sx, body_top);
    body.quad_to(
        sx + size * 0.55,
        body_top,
        sx + size * 0.6,
        horizon + size * 0.3,
    );
    body.close();
    if let Some(path) = body.finish() {
        pixmap.fill_path(
            &path,
            &solid(silhouette),
            FillRule::Winding,
            Transform::identity(),
            None,
        );
    }

    // Vignette.
    if let Some(vignette) = RadialGradient::new(
        Point::from_xy(w / 2.0, h / 2.0),
        Point::from_xy(w / 2.0, h / 2.0),
        w.max(h) * 0.75,
        vec![
            GradientStop::new(0.55, Color::from_rgba8(0, 0, 0, 0)),
            GradientStop::new(1.0, Color::from_rgba8(0, 0, 0, 150)),
        ],
        SpreadMode::Pad,
        Transform::identity(),
    ) {
        let all = Rect::from_xywh(0.0, 0.0, w, h).ok_or_else(fail)?;
        pixmap.fill_rect(all, &shader_paint(vignette), Transform::identity(), None);
    }

    label(
        &mut pixmap,
        &format!("OFFLINE PREVIEW {} {}", ratio.as_str(), tier.as_str()),
    );

    let png = pixmap.encode_png().map_err(|_| fail())?;
    Ok(GeneratedImage {
        bytes: Bytes::from(png),
        mime_type: "image/png".to_owned(),
        width,
        height,
    })
}

fn solid(c: Color) -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color(c);
    paint.anti_alias = true;
    paint
}

fn shader_paint(shader: tiny_skia::Shader<'static>) -> Paint<'static> {
    Paint {
        shader,
        anti_alias: true,
        ..Paint::default()
    }
}

fn fill_circle(pixmap: &mut Pixmap, x: f32, y: f32, r: f32, paint: Paint<'_>) {
    if let Some(path) = PathBuilder::from_circle(x, y, r) {
        pixmap.fill_path(
            &path,
            &paint,
            FillRule::Winding,
            Transform::identity(),
            None,
        );
    }
}

/// 5x7 bitmap glyphs for the label: just the characters it uses.
fn glyph(c: char) -> [u8; 7] {
    match c {
        'O' | '0' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'N' => [0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1E, 0x01, 0x01, 0x0E, 0x01, 0x01, 0x1E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        _ => [0; 7],
    }
}

/// Writes `text` in white on a dark box in the bottom-left corner.
/// The label's box (x, y, width, height) and its pixel scale on a `width` × `height` image.
fn label_box(width: u32, height: u32, text: &str) -> ([f32; 4], f32) {
    // Sized by the height, but never wider than the image: a tall 9:16 or 1:4 preview keeps
    // its whole label (6 units a letter, 13 for the padding and margins).
    let fits = (width as f32 / (6.0 * text.chars().count() as f32 + 13.0)).floor();
    let scale = (height as f32 / 150.0).max(2.0).round().min(fits).max(1.0);
    let (pad, advance) = (scale * 3.0, scale * 6.0);
    let box_w = advance * text.chars().count() as f32 + pad * 2.0 - scale;
    let box_h = scale * 7.0 + pad * 2.0;
    let (x0, y0) = (scale * 4.0, height as f32 - box_h - scale * 4.0);
    ([x0, y0, box_w, box_h], scale)
}

fn label(pixmap: &mut Pixmap, text: &str) {
    let ([x0, y0, box_w, box_h], scale) = label_box(pixmap.width(), pixmap.height(), text);
    let (pad, advance) = (scale * 3.0, scale * 6.0);
    if let Some(r) = Rect::from_xywh(x0, y0, box_w, box_h) {
        pixmap.fill_rect(
            r,
            &solid(Color::from_rgba8(0, 0, 0, 190)),
            Transform::identity(),
            None,
        );
    }
    let ink = solid(Color::WHITE);
    for (i, c) in text.chars().enumerate() {
        for (row, bits) in glyph(c).iter().enumerate() {
            for col in 0..5 {
                if bits & (0x10 >> col) != 0 {
                    let x = x0 + pad + advance * i as f32 + scale * col as f32;
                    let y = y0 + pad + scale * row as f32;
                    if let Some(r) = Rect::from_xywh(x, y, scale, scale) {
                        pixmap.fill_rect(r, &ink, Transform::identity(), None);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(image: &GeneratedImage) -> Pixmap {
        Pixmap::decode_png(&image.bytes).expect("a valid PNG")
    }

    fn mean_luma(pixmap: &Pixmap, y_from: u32, y_to: u32) -> f32 {
        let w = pixmap.width();
        let mut sum = 0.0;
        let mut n = 0.0;
        for y in y_from..y_to {
            for x in 0..w {
                if let Some(p) = pixmap.pixel(x, y) {
                    sum += 0.2126 * f32::from(p.red())
                        + 0.7152 * f32::from(p.green())
                        + 0.0722 * f32::from(p.blue());
                    n += 1.0;
                }
            }
        }
        sum / n
    }

    #[test]
    fn the_image_has_the_requested_aspect_ratio() {
        for ratio in AspectRatio::ALL {
            let image = render("a lighthouse", ratio, ImageSize::OneK, 0).expect("renders");
            let (w, h) = ratio.parts();
            let png = decode(&image);
            assert_eq!((png.width(), png.height()), (image.width, image.height));
            let expected = w as f32 / h as f32;
            let actual = image.width as f32 / image.height as f32;
            assert!(
                (expected - actual).abs() / expected < 0.01,
                "{ratio:?}: {actual}"
            );
            assert_eq!(image.mime_type, "image/png");
            assert!(image.bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        }
    }

    #[test]
    fn a_night_prompt_is_darker_than_a_midday_one() {
        let night = decode(
            &render(
                "a harbour at midnight",
                AspectRatio::Square,
                ImageSize::OneK,
                0,
            )
            .expect("renders"),
        );
        let day = decode(
            &render("a harbour at noon", AspectRatio::Square, ImageSize::OneK, 0).expect("renders"),
        );
        let sky = |p: &Pixmap| mean_luma(p, 0, p.height() / 3);
        assert!(
            sky(&night) + 60.0 < sky(&day),
            "night {} day {}",
            sky(&night),
            sky(&day)
        );
    }

    #[test]
    fn framing_words_move_the_horizon() {
        let low = scene_for("a low angle shot");
        let high = scene_for("an aerial view");
        let close = scene_for("a close-up portrait");
        let wide = scene_for("a wide establishing shot");
        assert!(low.horizon > high.horizon);
        assert!(close.subject_size > wide.subject_size);
    }

    #[test]
    fn the_same_prompt_draws_the_same_picture() {
        let draw = |seed| {
            render(
                "a fox in the snow at dawn",
                AspectRatio::Landscape16x9,
                ImageSize::OneK,
                seed,
            )
            .expect("renders")
        };
        assert_eq!(draw(3).bytes, draw(3).bytes);
    }

    #[test]
    fn each_seed_draws_a_visibly_different_picture() {
        let draw = |seed| {
            decode(
                &render(
                    "a fox in the snow at dawn",
                    AspectRatio::Square,
                    ImageSize::OneK,
                    seed,
                )
                .expect("renders"),
            )
        };
        let pictures: Vec<Pixmap> = (0..4).map(draw).collect();
        for (i, a) in pictures.iter().enumerate() {
            for b in &pictures[i + 1..] {
                // Share of pixels whose colour moved by more than a shade: the subject and the
                // light stand elsewhere, not just a few noise pixels.
                let differing = a
                    .pixels()
                    .iter()
                    .zip(b.pixels())
                    .filter(|(p, q)| {
                        p.red().abs_diff(q.red()) > 8
                            || p.green().abs_diff(q.green()) > 8
                            || p.blue().abs_diff(q.blue()) > 8
                    })
                    .count();
                let share = differing as f64 / a.pixels().len() as f64;
                assert!(share > 0.02, "only {:.2} % of pixels differ", share * 100.0);
            }
        }
    }

    #[test]
    fn the_size_tier_sets_the_pixel_size() {
        let square = |size| {
            let image = render("a fox", AspectRatio::Square, size, 0).expect("renders");
            let png = decode(&image);
            assert_eq!((png.width(), png.height()), (image.width, image.height));
            (image.width, image.height)
        };
        assert_eq!(square(ImageSize::OneK), (1024, 1024));
        assert_eq!(square(ImageSize::TwoK), (2048, 2048));
        // 4K is drawn at the 2K size offline (memory and time; see `offline_size`).
        assert_eq!(square(ImageSize::FourK), (2048, 2048));
        assert_eq!(
            dimensions(AspectRatio::Landscape16x9, ImageSize::OneK),
            (1365, 768)
        );
        assert_eq!(
            dimensions(AspectRatio::Wide8x1, ImageSize::OneK),
            (2896, 362)
        );
    }

    #[test]
    fn the_whole_label_fits_on_every_shape() {
        for ratio in AspectRatio::ALL {
            let image = render("a fox", ratio, ImageSize::OneK, 0).expect("renders");
            let text = format!("OFFLINE PREVIEW {} 1K", ratio.as_str());
            let ([x, _, w, _], scale) = label_box(image.width, image.height, &text);
            assert!(
                x + w + scale * 4.0 <= image.width as f32,
                "{ratio:?}: the label ends at {} on a {} px wide image",
                x + w,
                image.width
            );
        }
    }

    #[test]
    fn the_corner_label_is_drawn() {
        let png = decode(
            &render("a fox", AspectRatio::Landscape16x9, ImageSize::OneK, 0).expect("renders"),
        );
        // The label box is near-black with white glyph pixels inside it.
        let white = (png.height() - 40..png.height() - 10)
            .flat_map(|y| (10..200).map(move |x| (x, y)))
            .filter_map(|(x, y)| png.pixel(x, y))
            .filter(|p| p.red() == 255 && p.green() == 255 && p.blue() == 255)
            .count();
        assert!(white > 50, "only {white} white label pixels");
    }
}
