//! Pixels the server itself handles: checking an uploaded reference image (its type by its
//! bytes, its size, a full decode under memory limits) and re-encoding it without metadata, and
//! making thumbnails. CPU- and memory-bound: callers run them through [`off_thread`], which
//! keeps at most [`CONCURRENT_DECODES`] at once on the blocking pool.
//!
//! Metadata is stripped by re-encoding from decoded pixels, so nothing from the upload's
//! container survives (EXIF with its location, XMP, ICC, text chunks, comments). A JPEG's EXIF
//! orientation is applied to the pixels first, so a phone photo stays upright.

use std::io::Cursor;

use contracts::{REFERENCE_MAX_BYTES, REFERENCE_MAX_SIDE};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

/// Widest and tallest image any decode here accepts (generated images included); uploads are
/// held to `REFERENCE_MAX_SIDE` before they are decoded.
const MAX_DECODE_SIDE: u32 = 8192;
/// Most memory one decode may allocate: a 4,096² image at 16 bits per RGBA channel is 128 MiB.
const MAX_DECODE_ALLOC: u64 = 160 * 1024 * 1024;
/// JPEG quality of re-encoded references (close to the upload) and thumbnails (small).
const REFERENCE_JPEG_QUALITY: u8 = 90;
const THUMBNAIL_JPEG_QUALITY: u8 = 80;

/// Decodes at once, each up to [`MAX_DECODE_ALLOC`]: bounds the memory a burst of uploads or
/// thumbnail requests can take.
pub const CONCURRENT_DECODES: usize = 2;

static DECODES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_DECODES);

/// Runs `work` on the blocking pool once a decode slot is free.
pub async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let _slot = DECODES.acquire().await?;
    Ok(tokio::task::spawn_blocking(work).await?)
}

/// A reference image ready to store.
#[derive(Debug)]
pub struct Accepted {
    pub bytes: Vec<u8>,
    pub mime_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Why an upload was refused; each maps to its own error code.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not PNG, JPEG or WebP by its bytes, or its Content-Type names another type.
    #[error("{0}")]
    UnsupportedType(String),
    /// Over the byte or pixel limits.
    #[error("{0}")]
    TooLarge(String),
    /// Truncated, corrupt, or too costly to decode.
    #[error("{0}")]
    Unreadable(String),
}

/// The format the bytes show, whatever the upload claimed.
fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(ImageFormat::WebP)
    } else {
        None
    }
}

/// Checks an upload and re-encodes it without metadata: a PNG (or anything with transparency)
/// as PNG, a JPEG or WebP as JPEG. `claimed` is the part's Content-Type, if it sent one; a
/// specific image type must match the bytes (`application/octet-stream` defers to them).
pub fn accept_reference(bytes: &[u8], claimed: Option<&str>) -> Result<Accepted, Refusal> {
    if bytes.len() > REFERENCE_MAX_BYTES {
        return Err(too_many_bytes(bytes.len()));
    }
    let format = sniff(bytes).ok_or_else(|| {
        Refusal::UnsupportedType(
            "The file is not a PNG, JPEG or WebP image (judged by its contents, not its name or type).".into(),
        )
    })?;
    let actual = format.to_mime_type();
    if let Some(claimed) = claimed.map(normalise_type)
        && claimed != "application/octet-stream"
        && claimed != actual
    {
        return Err(Refusal::UnsupportedType(format!(
            "The file says it is {claimed} but its contents are {actual}; send it with its real type."
        )));
    }
    // The header is read without limits, so an oversized image is told its size; the pixels
    // are then decoded under them.
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.no_limits();
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let (width, height) = decoder.dimensions();
    if width > REFERENCE_MAX_SIDE || height > REFERENCE_MAX_SIDE {
        return Err(Refusal::TooLarge(format!(
            "The image is {width}×{height} pixels; the limit is {REFERENCE_MAX_SIDE} pixels a side."
        )));
    }
    decoder.set_limits(limits()).map_err(unreadable)?;
    // Unreadable EXIF is no reason to refuse the picture: it is dropped anyway.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    let keep_png = format == ImageFormat::Png || has_transparency(&image);
    let (bytes, mime_type) = if keep_png {
        (encode_png(&image)?, "image/png")
    } else {
        (encode_jpeg(&image, REFERENCE_JPEG_QUALITY)?, "image/jpeg")
    };
    Ok(Accepted {
        bytes,
        mime_type,
        width,
        height,
    })
}

/// The refusal for an upload of `size` bytes.
pub fn too_many_bytes(size: usize) -> Refusal {
    Refusal::TooLarge(format!(
        "The file is {:.1} MiB; the limit is {} MiB.",
        size as f64 / (1024.0 * 1024.0),
        REFERENCE_MAX_BYTES / (1024 * 1024)
    ))
}

/// A JPEG at most `width` pixels wide (the ratio kept), or `None` when the image is no wider.
pub fn thumbnail(bytes: &[u8], width: u32) -> Result<Option<Vec<u8>>, ImageError> {
    thumbnail_within(bytes, width, u32::MAX)
}

/// A JPEG that fits in `width` × `height` (the ratio kept), or `None` when the image already
/// fits. One maker for every small picture: gallery thumbnails and template examples.
pub fn thumbnail_within(
    bytes: &[u8],
    width: u32,
    height: u32,
) -> Result<Option<Vec<u8>>, ImageError> {
    // The header says whether it already fits, so such an image (asked for again on every
    // request, since nothing is kept for it) is never decoded.
    let header = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    let (w, h) = header.into_dimensions()?;
    if w <= width && h <= height {
        return Ok(None);
    }
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    reader.limits(limits());
    let image = reader.decode()?;
    let small = image.thumbnail(width, height);
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, THUMBNAIL_JPEG_QUALITY)
        .encode_image(&DynamicImage::ImageRgb8(small.to_rgb8()))?;
    Ok(Some(out))
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    limits
}

fn normalise_type(content_type: &str) -> String {
    let base = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if base == "image/jpg" {
        "image/jpeg".to_owned()
    } else {
        base
    }
}

fn has_transparency(image: &DynamicImage) -> bool {
    image.color().has_alpha() && image.to_rgba8().pixels().any(|p| p.0[3] < u8::MAX)
}

fn encode_png(image: &DynamicImage) -> Result<Vec<u8>, Refusal> {
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::Png)
        .map_err(unreadable)?;
    Ok(out.into_inner())
}

fn encode_jpeg(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&DynamicImage::ImageRgb8(image.to_rgb8()))
        .map_err(unreadable)?;
    Ok(out)
}

fn unreadable(error: ImageError) -> Refusal {
    let why = match error {
        ImageError::Limits(_) => "it would take too much memory to decode".to_owned(),
        ImageError::IoError(_) => "it ends too early (truncated?)".to_owned(),
        other => format!("it could not be decoded ({other})"),
    };
    Refusal::Unreadable(format!(
        "The image could not be read: {why}. Export it again as PNG, JPEG or WebP."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = RgbImage::from_fn(width, height, |x, y| Rgb([x as u8, y as u8, 90]));
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).expect("encodes");
        out.into_inner()
    }

    #[test]
    fn a_png_is_kept_as_png_and_a_transparent_webp_becomes_png() {
        let accepted = accept_reference(&png(40, 30), Some("image/png")).expect("accepted");
        assert_eq!(
            (accepted.mime_type, accepted.width, accepted.height),
            ("image/png", 40, 30)
        );
        let clear = RgbaImage::from_pixel(8, 8, Rgba([1, 2, 3, 0]));
        let mut webp = Cursor::new(Vec::new());
        clear
            .write_to(&mut webp, ImageFormat::WebP)
            .expect("encodes");
        let accepted = accept_reference(&webp.into_inner(), None).expect("accepted");
        assert_eq!(accepted.mime_type, "image/png");
    }

    #[test]
    fn a_claimed_type_must_match_the_bytes() {
        let refused = accept_reference(&png(4, 4), Some("image/jpeg"));
        assert!(matches!(refused, Err(Refusal::UnsupportedType(_))));
        assert!(accept_reference(&png(4, 4), Some("application/octet-stream")).is_ok());
        assert!(matches!(
            accept_reference(b"GIF89a....", None),
            Err(Refusal::UnsupportedType(_))
        ));
    }

    #[test]
    fn thumbnails_keep_the_ratio_and_skip_small_images() {
        let thumb = thumbnail(&png(600, 300), 256)
            .expect("decodes")
            .expect("smaller");
        let decoded = image::load_from_memory(&thumb).expect("a JPEG");
        assert_eq!((decoded.width(), decoded.height()), (256, 128));
        assert_eq!(thumbnail(&png(100, 50), 256).expect("decodes"), None);
    }

    #[test]
    fn a_bounded_thumbnail_fits_its_long_edge_either_way_round() {
        for ((w, h), expected) in [((960, 540), (480, 270)), ((540, 960), (270, 480))] {
            let thumb = thumbnail_within(&png(w, h), 480, 480)
                .expect("decodes")
                .expect("smaller");
            let decoded = image::load_from_memory(&thumb).expect("a JPEG");
            assert_eq!((decoded.width(), decoded.height()), expected);
        }
        assert_eq!(
            thumbnail_within(&png(480, 270), 480, 480).expect("decodes"),
            None
        );
    }
}
