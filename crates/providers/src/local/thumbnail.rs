//! [`thumbnail`]: a PNG scaled down to a small size, for pictures shown in a list (the start
//! screen's template examples). Bicubic filtering keeps the sketch's gradients smooth.

use bytes::Bytes;
use tiny_skia::{FilterQuality, Pixmap, PixmapPaint, Transform};

use crate::{GeneratedImage, ProviderError};

/// `image` (a PNG) scaled so its long edge is `long_edge` pixels, keeping its shape; an image
/// already that small is returned as it is.
pub fn thumbnail(image: &GeneratedImage, long_edge: u32) -> Result<GeneratedImage, ProviderError> {
    let fail = |what: &str| ProviderError::BadResponse(format!("thumbnail: {what}"));
    let long = image.width.max(image.height);
    if long <= long_edge || long_edge == 0 {
        return Ok(image.clone());
    }
    let source = Pixmap::decode_png(&image.bytes).map_err(|_| fail("not a PNG"))?;
    let scale = long_edge as f32 / long as f32;
    let width = ((image.width as f32 * scale).round() as u32).max(1);
    let height = ((image.height as f32 * scale).round() as u32).max(1);
    let mut target = Pixmap::new(width, height).ok_or_else(|| fail("empty size"))?;
    let paint = PixmapPaint {
        quality: FilterQuality::Bicubic,
        ..PixmapPaint::default()
    };
    target.draw_pixmap(
        0,
        0,
        source.as_ref(),
        &paint,
        Transform::from_scale(
            width as f32 / image.width as f32,
            height as f32 / image.height as f32,
        ),
        None,
    );
    let png = target.encode_png().map_err(|_| fail("could not encode"))?;
    Ok(GeneratedImage {
        bytes: Bytes::from(png),
        mime_type: "image/png".to_owned(),
        thought_signature: None,
        width,
        height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> GeneratedImage {
        let mut pixmap = Pixmap::new(width, height).expect("size");
        pixmap.fill(tiny_skia::Color::from_rgba8(200, 80, 40, 255));
        GeneratedImage {
            bytes: Bytes::from(pixmap.encode_png().expect("png")),
            mime_type: "image/png".into(),
            width,
            height,
            thought_signature: None,
        }
    }

    #[test]
    fn the_long_edge_shrinks_and_the_shape_stays() {
        let small = thumbnail(&png(960, 540), 320).expect("scaled");
        assert_eq!((small.width, small.height), (320, 180));
        let decoded = Pixmap::decode_png(&small.bytes).expect("a PNG");
        assert_eq!((decoded.width(), decoded.height()), (320, 180));
        let tall = thumbnail(&png(540, 960), 320).expect("scaled");
        assert_eq!((tall.width, tall.height), (180, 320));
    }

    #[test]
    fn a_small_image_is_left_alone() {
        let image = png(100, 50);
        assert_eq!(thumbnail(&image, 320).expect("kept").bytes, image.bytes);
    }
}
