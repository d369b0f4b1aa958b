//! [`LocalPreview`]: draws a PNG sketch that follows the prompt, with no network. The palette comes
//! from time-of-day and mood words, the composition from framing words, the size from the aspect
//! ratio and size tier, the details (where the light and the subject stand, the hills, the stars)
//! from the request's seed, so variations and new takes differ; and every image says
//! "OFFLINE PREVIEW" in its corner so nobody mistakes it for a render. Reference images are drawn
//! as numbered insets along the top with a legend ("REFERENCE 1: OUR PRODUCT"), so a test or a
//! demo can see them used. An edit redraws the edited image with the instruction's time-of-day
//! and mood words applied to its palette (rain and snow words add streaks or flakes), labelled
//! "OFFLINE EDIT" with the instruction.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use contracts::{AspectRatio, ImageSize};
use tiny_skia::{
    Color, FillRule, GradientStop, LinearGradient, Paint, PathBuilder, Pixmap, Point,
    RadialGradient, Rect, SpreadMode, Transform,
};

use crate::faults::FaultScript;
use crate::{
    GeneratedImage, ImageGenerator, ImageRequest, InputImage, ProviderError, ProviderInfo,
};

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
        self.faults.next(crate::ModelRole::Images)?;
        let prompt = request.prompt.to_owned();
        let (ratio, size, seed) = (request.aspect_ratio, request.image_size, request.seed);
        let references = request.references.to_vec();
        let edited = request.edit.map(|edit| edit.image.clone());
        // Drawing is CPU work: keep it off the async workers.
        tokio::task::spawn_blocking(move || match edited {
            Some(source) => render_edit(&source, &prompt),
            None => render_with(&prompt, ratio, size, seed, &references),
        })
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

#[cfg(test)]
fn render(
    prompt: &str,
    ratio: AspectRatio,
    tier: ImageSize,
    seed: u64,
) -> Result<GeneratedImage, ProviderError> {
    render_with(prompt, ratio, tier, seed, &[])
}

fn render_with(
    prompt: &str,
    ratio: AspectRatio,
    tier: ImageSize,
    seed: u64,
    references: &[InputImage],
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

    draw_references(&mut pixmap, references);
    label(
        &mut pixmap,
        &format!("OFFLINE PREVIEW {} {}", ratio.as_str(), tier.as_str()),
    );
    finish(pixmap)
}

fn finish(pixmap: Pixmap) -> Result<GeneratedImage, ProviderError> {
    let png = pixmap
        .encode_png()
        .map_err(|_| ProviderError::BadResponse("the preview renderer could not encode".into()))?;
    Ok(GeneratedImage {
        bytes: Bytes::from(png),
        mime_type: "image/png".to_owned(),
        width: pixmap.width(),
        height: pixmap.height(),
        thought_signature: None,
    })
}

/// Widest and tallest input image the renderer decodes (references and edited images).
const MAX_INPUT_SIDE: u32 = 8192;

/// An input image (PNG, JPEG or WebP) as premultiplied pixels; `None` when it does not decode.
fn decode_input(image: &InputImage) -> Option<Pixmap> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(&image.bytes))
        .with_guessed_format()
        .ok()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_INPUT_SIDE);
    limits.max_image_height = Some(MAX_INPUT_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let rgba = reader.decode().ok()?.to_rgba8();
    let (width, height) = rgba.dimensions();
    let mut data = rgba.into_raw();
    for px in data.chunks_exact_mut(4) {
        let a = u16::from(px[3]);
        for c in &mut px[..3] {
            *c = ((u16::from(*c) * a + 127) / 255) as u8;
        }
    }
    Pixmap::from_vec(data, tiny_skia::IntSize::from_wh(width, height)?)
}

/// The inset edge and the margin between insets on a `width` × `height` picture.
fn inset_geometry(width: u32, height: u32) -> (f32, f32) {
    let (w, h) = (width as f32, height as f32);
    let edge = (w * 0.2).min(h * 0.28).max(8.0);
    (edge, (edge * 0.08).max(2.0))
}

/// Each reference scaled into a framed, numbered square in a row at the top right (in order,
/// left to right), and a legend line each below the row: "REFERENCE 1: OUR PRODUCT".
fn draw_references(pixmap: &mut Pixmap, references: &[InputImage]) {
    if references.is_empty() {
        return;
    }
    let (width, height) = (pixmap.width(), pixmap.height());
    let (edge, gap) = inset_geometry(width, height);
    let count = references.len() as f32;
    let row_x = width as f32 - gap - count * (edge + gap);
    let frame = solid(Color::WHITE);
    for (i, reference) in references.iter().enumerate() {
        let x = row_x + i as f32 * (edge + gap);
        let y = gap;
        if let Some(r) = Rect::from_xywh(x - 2.0, y - 2.0, edge + 4.0, edge + 4.0) {
            pixmap.fill_rect(r, &frame, Transform::identity(), None);
        }
        match decode_input(reference) {
            Some(source) => {
                // Cover the square (centre crop), so a solid reference fills its inset.
                let scale = (edge / source.width() as f32).max(edge / source.height() as f32);
                let (sw, sh) = (
                    source.width() as f32 * scale,
                    source.height() as f32 * scale,
                );
                let transform = Transform::from_scale(scale, scale)
                    .post_translate(x + (edge - sw) / 2.0, y + (edge - sh) / 2.0);
                let clip = Rect::from_xywh(x, y, edge, edge).and_then(|r| {
                    let mut mask = tiny_skia::Mask::new(width, height)?;
                    mask.fill_path(
                        &PathBuilder::from_rect(r),
                        FillRule::Winding,
                        false,
                        Transform::identity(),
                    );
                    Some(mask)
                });
                let paint = tiny_skia::PixmapPaint {
                    quality: tiny_skia::FilterQuality::Bilinear,
                    ..tiny_skia::PixmapPaint::default()
                };
                pixmap.draw_pixmap(0, 0, source.as_ref(), &paint, transform, clip.as_ref());
            }
            None => {
                if let Some(r) = Rect::from_xywh(x, y, edge, edge) {
                    pixmap.fill_rect(
                        r,
                        &solid(Color::from_rgba8(90, 90, 90, 255)),
                        Transform::identity(),
                        None,
                    );
                }
            }
        }
        let tag_scale = (edge / 40.0).floor().max(1.0);
        text_box(pixmap, &format!("{}", i + 1), x, y, tag_scale);
    }
    let scale = (height as f32 / 300.0).round().max(1.0);
    let line = scale * 7.0 + scale * 6.0 + 2.0;
    for (i, reference) in references.iter().enumerate() {
        let note = reference
            .note
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let text = if note.is_empty() {
            format!("REFERENCE {}", i + 1)
        } else {
            format!("REFERENCE {}: {}", i + 1, note.to_uppercase())
        };
        let room = ((width as f32 - scale * 14.0) / (scale * 6.0))
            .floor()
            .max(1.0) as usize;
        let text: String = text.chars().take(room).collect();
        let y = gap * 2.0 + edge + 4.0 + i as f32 * line;
        text_box(pixmap, &text, scale * 4.0, y, scale);
    }
}

/// The words that change an edited image's palette: (multiply, then blend toward, how far).
fn grade_for(instruction: &str) -> ([f32; 3], [f32; 3], f32) {
    let p = instruction.to_lowercase();
    let (mut multiply, mut toward, mut k) = ([1.0, 1.0, 1.0], [0.0, 0.0, 0.0], 0.0);
    if has(&p, &["night", "midnight", "moonlit", "starry", "dark sky"]) {
        (multiply, toward, k) = ([0.32, 0.36, 0.62], [0.05, 0.07, 0.2], 0.25);
    } else if has(
        &p,
        &["sunset", "golden hour", "dusk", "evening", "twilight"],
    ) {
        (multiply, toward, k) = ([1.0, 0.78, 0.6], [1.0, 0.55, 0.26], 0.3);
    } else if has(&p, &["dawn", "sunrise", "morning", "daybreak"]) {
        (multiply, toward, k) = ([1.0, 0.95, 0.95], [1.0, 0.82, 0.86], 0.25);
    } else if has(&p, &["noon", "midday", "daylight", "sunny", "bright"]) {
        (multiply, toward, k) = ([1.1, 1.1, 1.05], [1.0, 1.0, 0.9], 0.2);
    }
    if has(
        &p,
        &[
            "noir", "gloom", "moody", "dark", "tense", "ominous", "storm",
        ],
    ) {
        multiply = multiply.map(|m| m * 0.65);
    }
    let mut tint = |t: [f32; 3], amount: f32| {
        for i in 0..3 {
            toward[i] = toward[i] * k / (k + amount) + t[i] * amount / (k + amount);
        }
        k += amount;
    };
    if has(&p, &["warm", "amber", "orange", "gold"]) {
        tint([1.0, 0.6, 0.2], 0.2);
    }
    if has(&p, &["cold", "icy", "blue", "teal", "winter"]) {
        tint([0.3, 0.55, 0.85], 0.2);
    }
    if has(&p, &["pastel", "soft", "dreamy", "wistful"]) {
        tint([0.95, 0.9, 0.95], 0.3);
    }
    (multiply, toward, k.min(0.8))
}

/// An edit drawn offline: the edited image with the instruction's palette, weather and a label.
fn render_edit(source: &InputImage, instruction: &str) -> Result<GeneratedImage, ProviderError> {
    let mut pixmap = decode_input(source).ok_or_else(|| {
        ProviderError::BadResponse("the preview renderer could not read the image to edit".into())
    })?;
    let (multiply, toward, k) = grade_for(instruction);
    for px in pixmap.data_mut().chunks_exact_mut(4) {
        let a = f32::from(px[3]) / 255.0;
        for c in 0..3 {
            // Premultiplied: grade the colour, keep the alpha.
            let v = f32::from(px[c]) / 255.0 * multiply[c];
            let v = v * (1.0 - k) + toward[c] * a * k;
            px[c] = (v.clamp(0.0, a) * 255.0).round() as u8;
        }
    }
    let p = instruction.to_lowercase();
    let (w, h) = (pixmap.width() as f32, pixmap.height() as f32);
    let mut rng = Fnv::new(instruction, 0);
    if has(&p, &["rain", "drizzle", "downpour", "shower"]) {
        let streak = solid(Color::from_rgba8(200, 210, 235, 130));
        let stroke = tiny_skia::Stroke {
            width: (h / 600.0).max(1.0),
            ..tiny_skia::Stroke::default()
        };
        for _ in 0..160 {
            let (x, y) = (rng.unit() * w, rng.unit() * h);
            let mut line = PathBuilder::new();
            line.move_to(x, y);
            line.line_to(x - h * 0.015, y + h * 0.05);
            if let Some(path) = line.finish() {
                pixmap.stroke_path(&path, &streak, &stroke, Transform::identity(), None);
            }
        }
    }
    if has(&p, &["snow", "blizzard", "flurr"]) {
        let flake = solid(Color::from_rgba8(255, 255, 255, 210));
        for _ in 0..180 {
            let (x, y) = (rng.unit() * w, rng.unit() * h);
            fill_circle(&mut pixmap, x, y, (h / 400.0).max(1.5), flake.clone());
        }
    }
    let words = instruction.split_whitespace().collect::<Vec<_>>().join(" ");
    let scale = (h / 150.0).max(2.0).round();
    let room = ((w - scale * 13.0) / (scale * 6.0)).floor().max(1.0) as usize;
    let text: String = format!("OFFLINE EDIT: {}", words.to_uppercase())
        .chars()
        .take(room)
        .collect();
    // A fifth of the way down: clear of the "Offline preview" badge the SPA lays over the top-left
    // corner, however small the image is shown (the badge keeps its size on a phone).
    text_box(
        &mut pixmap,
        &text,
        scale * 4.0,
        (h * 0.2).max(scale * 12.0),
        scale,
    );
    finish(pixmap)
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

/// 5x7 bitmap glyphs for labels: A to Z, digits and common punctuation; anything else draws
/// as a blank (a space) or a middle dot.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11],
        'O' | '0' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
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
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        ',' => [0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08],
        '\'' => [0x04, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00],
        '!' => [0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04],
        '?' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04],
        '/' => [0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        '&' => [0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D],
        c if c.is_whitespace() => [0; 7],
        _ => [0x00, 0x00, 0x00, 0x0C, 0x0C, 0x00, 0x00],
    }
}

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
    let ([x0, y0, _, _], scale) = label_box(pixmap.width(), pixmap.height(), text);
    text_box(pixmap, text, x0, y0, scale);
}

/// Writes `text` in white on a dark box whose top-left corner is (`x0`, `y0`).
fn text_box(pixmap: &mut Pixmap, text: &str, x0: f32, y0: f32, scale: f32) {
    let (pad, advance) = (scale * 3.0, scale * 6.0);
    let box_w = advance * text.chars().count() as f32 + pad * 2.0 - scale;
    let box_h = scale * 7.0 + pad * 2.0;
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

    fn solid_png(width: u32, height: u32, rgb: [u8; 3]) -> InputImage {
        let mut pixmap = Pixmap::new(width, height).expect("size");
        pixmap.fill(Color::from_rgba8(rgb[0], rgb[1], rgb[2], 255));
        InputImage {
            bytes: Bytes::from(pixmap.encode_png().expect("png")),
            mime_type: "image/png".into(),
            note: "our product".into(),
        }
    }

    fn count_exact(pixmap: &Pixmap, rgb: [u8; 3]) -> usize {
        pixmap
            .pixels()
            .iter()
            .filter(|p| p.red() == rgb[0] && p.green() == rgb[1] && p.blue() == rgb[2])
            .count()
    }

    #[test]
    fn each_reference_is_drawn_as_an_inset_in_order() {
        let red = solid_png(300, 200, [250, 0, 10]);
        let green = solid_png(64, 64, [0, 240, 20]);
        for ratio in AspectRatio::ALL {
            let image = decode(
                &render_with(
                    "a bottle",
                    ratio,
                    ImageSize::OneK,
                    0,
                    &[red.clone(), green.clone()],
                )
                .expect("renders"),
            );
            let (edge, _) = inset_geometry(image.width(), image.height());
            let least = (edge * edge * 0.6) as usize;
            let (reds, greens) = (
                count_exact(&image, [250, 0, 10]),
                count_exact(&image, [0, 240, 20]),
            );
            assert!(
                reds > least && greens > least,
                "{ratio:?}: {reds} red, {greens} green pixels"
            );
            // In order: the first reference left of the second.
            let first_x = |rgb: [u8; 3]| {
                (0..image.width())
                    .find(|&x| {
                        (0..image.height()).any(|y| {
                            image
                                .pixel(x, y)
                                .is_some_and(|p| [p.red(), p.green(), p.blue()] == rgb)
                        })
                    })
                    .expect("drawn")
            };
            assert!(first_x([250, 0, 10]) < first_x([0, 240, 20]), "{ratio:?}");
        }
        let plain =
            decode(&render("a bottle", AspectRatio::Square, ImageSize::OneK, 0).expect("renders"));
        assert_eq!(
            count_exact(&plain, [250, 0, 10]),
            0,
            "no reference, no inset"
        );
    }

    #[test]
    fn a_reference_that_does_not_decode_is_a_grey_square_not_a_failure() {
        let broken = InputImage {
            bytes: Bytes::from_static(b"\x89PNG\r\n\x1a\nnot really"),
            mime_type: "image/png".into(),
            note: String::new(),
        };
        let image = render_with(
            "a bottle",
            AspectRatio::Square,
            ImageSize::OneK,
            0,
            &[broken],
        );
        assert!(image.is_ok());
    }

    #[test]
    fn an_offline_edit_applies_the_instructions_palette_and_keeps_the_size() {
        let day = render(
            "a harbour at noon",
            AspectRatio::Landscape16x9,
            ImageSize::OneK,
            0,
        )
        .expect("renders");
        let source = InputImage {
            bytes: day.bytes.clone(),
            mime_type: day.mime_type.clone(),
            note: String::new(),
        };
        let night = render_edit(&source, "make it night, with rain").expect("edits");
        assert_eq!((night.width, night.height), (day.width, day.height));
        let (before, after) = (decode(&day), decode(&night));
        let all = |p: &Pixmap| mean_luma(p, 0, p.height());
        assert!(
            all(&after) + 40.0 < all(&before),
            "night {} day {}",
            all(&after),
            all(&before)
        );
        let warm = decode(&render_edit(&source, "golden hour, warm light").expect("edits"));
        let red_share = |p: &Pixmap| {
            let (mut r, mut b) = (0u64, 0u64);
            for px in p.pixels() {
                r += u64::from(px.red());
                b += u64::from(px.blue());
            }
            r as f64 / b.max(1) as f64
        };
        assert!(red_share(&warm) > red_share(&before) * 1.2);
        assert_ne!(
            render_edit(&source, "add a red kite").expect("edits").bytes,
            day.bytes,
            "even a word without a palette is labelled as an edit"
        );
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
