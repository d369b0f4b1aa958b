//! Checks that downloaded or decoded bytes are the image type they claim, and reads their size
//! from the header (PNG, JPEG, WebP), without decoding the picture.

use crate::ProviderError;

/// The image's MIME type (from its magic bytes), width and height. `claimed` is what the provider
/// said (a MIME type or content type); it must agree with the bytes.
pub fn inspect(bytes: &[u8], claimed: &str) -> Result<(&'static str, u32, u32), ProviderError> {
    let claimed = claimed
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let actual = sniff(bytes).ok_or_else(|| {
        ProviderError::BadResponse("the image bytes are not PNG, JPEG or WebP".into())
    })?;
    let claimed = if claimed == "image/jpg" {
        "image/jpeg".to_owned()
    } else {
        claimed
    };
    if claimed != actual {
        return Err(ProviderError::BadResponse(format!(
            "the provider said {claimed} but sent {actual}"
        )));
    }
    let (width, height) = dimensions(bytes, actual).ok_or_else(|| {
        ProviderError::BadResponse(format!("the {actual} header could not be read"))
    })?;
    Ok((actual, width, height))
}

/// The MIME type the magic bytes show.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn dimensions(bytes: &[u8], mime: &str) -> Option<(u32, u32)> {
    let be32 = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    match mime {
        "image/png" => Some((be32(16)?, be32(20)?)),
        "image/jpeg" => jpeg_dimensions(bytes),
        "image/webp" => webp_dimensions(bytes),
        _ => None,
    }
}

fn jpeg_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    while i + 9 < bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let h = u16::from_be_bytes([bytes[i + 5], bytes[i + 6]]) as u32;
            let w = u16::from_be_bytes([bytes[i + 7], bytes[i + 8]]) as u32;
            return Some((w, h));
        }
        i += 2 + len;
    }
    None
}

fn webp_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let chunk = bytes.get(12..16)?;
    let le16 = |at: usize| -> Option<u32> {
        Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?) as u32)
    };
    let le24 = |at: usize| -> Option<u32> {
        let b = bytes.get(at..at + 3)?;
        Some(b[0] as u32 | (b[1] as u32) << 8 | (b[2] as u32) << 16)
    };
    match chunk {
        b"VP8 " => Some((le16(26)? & 0x3FFF, le16(28)? & 0x3FFF)),
        b"VP8L" => {
            let b = bytes.get(21..25)?;
            let bits = u32::from_le_bytes(b.try_into().ok()?);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => Some((le24(24)? + 1, le24(27)? + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 1×1 PNG the provider fixtures carry.
    const PNG_1X1: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52, 0,
        0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0,
    ];

    #[test]
    fn png_is_recognised_and_measured() {
        assert_eq!(inspect(PNG_1X1, "image/png"), Ok(("image/png", 1, 1)));
    }

    #[test]
    fn a_wrong_claim_or_unknown_bytes_are_refused() {
        assert!(inspect(PNG_1X1, "image/jpeg").is_err());
        assert!(inspect(b"<html>not an image</html>", "image/png").is_err());
    }

    #[test]
    fn jpeg_size_comes_from_the_frame_header() {
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x02,
            0x1C, 0x03, 0xC0, 0x03, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(inspect(&jpeg, "image/jpeg"), Ok(("image/jpeg", 960, 540)));
    }
}
