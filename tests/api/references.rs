//! Reference images: upload, list, serve to their own session only, delete; every refused
//! upload with its own code and the session exactly as it was; metadata stripped.

use std::io::Cursor;

use contracts::{ReferenceView, SessionView, codes, paths};
use image::{ImageFormat, Rgb, RgbImage};
use reqwest::{Response, StatusCode};
use serde_json::json;

use crate::helpers::{Person, TestApp, error_of, spawn_app};

/// One multipart part: field name, file name, content type, bytes.
pub struct Part<'a> {
    pub name: &'a str,
    pub file_name: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub bytes: Vec<u8>,
}

impl<'a> Part<'a> {
    pub fn file(content_type: &'a str, bytes: Vec<u8>) -> Part<'a> {
        Part {
            name: "file",
            file_name: Some("upload"),
            content_type: Some(content_type),
            bytes,
        }
    }

    pub fn note(text: &str) -> Part<'a> {
        Part {
            name: "note",
            file_name: None,
            content_type: None,
            bytes: text.as_bytes().to_vec(),
        }
    }
}

const BOUNDARY: &str = "refinery-test-boundary-7d1f";

/// A `multipart/form-data` body, spelled out (as a browser or curl -F sends it).
fn form(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend(format!("--{BOUNDARY}\r\n").bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(file_name) = part.file_name {
            disposition.push_str(&format!("; filename=\"{file_name}\""));
        }
        body.extend(disposition.bytes());
        body.extend(b"\r\n");
        if let Some(content_type) = part.content_type {
            body.extend(format!("Content-Type: {content_type}\r\n").bytes());
        }
        body.extend(b"\r\n");
        body.extend(&part.bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").bytes());
    body
}

impl Person {
    pub async fn upload(&self, parts: &[Part<'_>]) -> Response {
        self.post_raw(
            paths::SESSION_REFERENCES,
            Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
            form(parts),
        )
        .await
    }

    /// Uploads a reference that must be accepted.
    pub async fn add_reference(&self, bytes: Vec<u8>, note: &str) -> ReferenceView {
        let response = self
            .upload(&[Part::file("image/png", bytes), Part::note(note)])
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("a reference view")
    }
}

/// A PNG of `width` × `height` pixels with a gradient.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    encode(
        &RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 120])
        }),
        ImageFormat::Png,
    )
}

/// A PNG of `width` × `height` pixels of noise: about 3 bytes a pixel, as a photo is; another
/// `seed`, other pixels.
pub fn noise_png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let mut state = seed | 1;
    let noise = RgbImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [r, g, b, _] = state.to_le_bytes();
        Rgb([r, g, b])
    });
    encode(&noise, ImageFormat::Png)
}

fn encode(image: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encodes");
    out.into_inner()
}

/// CRC-32 (ISO-HDLC), as PNG chunks carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(data.len())
        .expect("small")
        .to_be_bytes()
        .to_vec();
    let mut typed = kind.to_vec();
    typed.extend(data);
    out.extend(&typed);
    out.extend(crc32(&typed).to_be_bytes());
    out
}

/// `png` with a text chunk inserted after the header.
fn png_with_text(png: &[u8], text: &str) -> Vec<u8> {
    // Signature (8) + IHDR chunk (25).
    let (head, rest) = png.split_at(33);
    let mut out = head.to_vec();
    let mut data = b"Comment\0".to_vec();
    data.extend(text.as_bytes());
    out.extend(chunk(b"tEXt", &data));
    out.extend(rest);
    out
}

/// A valid PNG header claiming `width` × `height` pixels, followed by a tiny compressed stream:
/// what a decompression bomb looks like before anything is inflated.
fn bomb_png(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]); // 8-bit greyscale
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    // zlib of a few zero bytes; a real bomb would inflate to gigabytes.
    out.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    ));
    out.extend(chunk(b"IEND", &[]));
    out
}

/// A JPEG carrying an EXIF segment (orientation, and `marker` where a GPS block would be).
fn jpeg_with_exif(marker: &str) -> Vec<u8> {
    let jpeg = encode(
        &RgbImage::from_fn(64, 48, |x, y| Rgb([x as u8 * 3, y as u8 * 4, 60])),
        ImageFormat::Jpeg,
    );
    // TIFF, little-endian: one IFD entry, Orientation = 1 (upright), then the marker bytes.
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend([1, 0]); // one entry
    tiff.extend([0x12, 0x01, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
    tiff.extend([0, 0, 0, 0]); // no next IFD
    tiff.extend(marker.as_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let length = u16::try_from(app1.len() + 2).expect("small");
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend([0xFF, 0xE1]);
    out.extend(length.to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

async fn session_of(app: &TestApp) -> SessionView {
    app.session().await
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_reference_is_stored_listed_served_to_its_session_only_and_deleted() {
    let app = spawn_app().await;
    app.ready_session("a perfume bottle on a beach").await;

    let reference = app.add_reference(png(40, 30), "  our product  ").await;
    assert_eq!(reference.mime_type, "image/png");
    assert_eq!((reference.width, reference.height), (40, 30));
    assert_eq!(reference.note, "our product");
    assert_eq!(reference.url, paths::reference(&reference.reference_id));
    assert_eq!(reference.reference_id.len(), 32);
    assert_eq!(session_of(&app).await.references, vec![reference.clone()]);

    let served = app.get(&reference.url).await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "image/png");
    let bytes = served.bytes().await.expect("bytes");
    let decoded = image::load_from_memory(&bytes).expect("a PNG");
    assert_eq!((decoded.width(), decoded.height()), (40, 30));

    // Another person (another session, or none) cannot read or delete it.
    let stranger = app.another_person();
    let (status, error) = error_of(stranger.get(&reference.url).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, codes::SESSION_NOT_FOUND)
    );
    stranger.ready_session("a red kite").await;
    for response in [
        stranger.get(&reference.url).await,
        stranger.delete(&reference.url).await,
    ] {
        let (status, error) = error_of(response).await;
        assert_eq!(
            (status, error.code.as_str()),
            (StatusCode::NOT_FOUND, codes::REFERENCE_NOT_FOUND)
        );
    }
    assert!(stranger.session().await.references.is_empty());
    assert_eq!(app.get(&reference.url).await.status(), StatusCode::OK);

    assert_eq!(
        app.delete(&reference.url).await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(session_of(&app).await.references.is_empty());
    let (status, error) = error_of(app.get(&reference.url).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, codes::REFERENCE_NOT_FOUND)
    );
    let (status, _) = error_of(app.delete(&reference.url).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The chip in the browser shows the preview, so a phone on the tunnel loads a few KB a
/// reference instead of the upload's megabytes.
#[tokio::test]
async fn a_references_preview_is_a_small_jpeg_kept_for_its_session_and_deleted_with_it() {
    let app = spawn_app().await;
    app.ready_session("a perfume bottle on a beach").await;
    // Noise, which compresses as badly as a photo does (a gradient would be a few KB anyway).
    let reference = app
        .add_reference(noise_png(1200, 800, 1), "our product")
        .await;
    let id = &reference.reference_id;
    assert_eq!(reference.thumbnail_url, paths::reference_thumbnail(id, 256));
    assert_eq!(session_of(&app).await.references, vec![reference.clone()]);
    let upload = app.get(&reference.url).await.bytes().await.expect("bytes");

    let preview = app.get(&reference.thumbnail_url).await;
    assert_eq!(preview.status(), StatusCode::OK);
    assert_eq!(preview.headers()["content-type"], "image/jpeg");
    let small = preview.bytes().await.expect("bytes");
    let decoded = image::load_from_memory(&small).expect("a JPEG");
    assert_eq!(decoded.width(), 256);
    assert!(decoded.height().abs_diff(171) <= 1, "{}", decoded.height());
    assert!(
        small.len() * 10 < upload.len(),
        "{} vs {}",
        small.len(),
        upload.len()
    );
    // A reference no wider than asked is sent as it is.
    let narrow = app.add_reference(png(40, 30), "").await;
    let served = app.get(&narrow.thumbnail_url).await;
    assert_eq!(served.headers()["content-type"], "image/png");

    // Another session's is not found; a width not offered is refused.
    let stranger = app.another_person();
    stranger.ready_session("a red kite").await;
    let (status, error) = error_of(stranger.get(&reference.thumbnail_url).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, codes::REFERENCE_NOT_FOUND)
    );
    for bad in ["300", "0", "abc"] {
        let url = format!("{}?w={bad}", reference.url);
        let (status, error) = error_of(app.get(&url).await).await;
        assert_eq!(
            (status, error.code.as_str()),
            (StatusCode::BAD_REQUEST, codes::INVALID_REQUEST),
            "w={bad}"
        );
    }

    // Kept: served from itself, the upload not read (removed here by hand).
    app.storage.remove_object(&format!("references/{id}")).await;
    assert_eq!(
        app.get(&reference.url).await.status(),
        StatusCode::NOT_FOUND
    );
    let again = app.get(&reference.thumbnail_url).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.bytes().await.expect("bytes"), small);

    // Deleted with the reference.
    assert_eq!(
        app.delete(&reference.url).await.status(),
        StatusCode::NO_CONTENT
    );
    let (status, error) = error_of(app.get(&reference.thumbnail_url).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::NOT_FOUND, codes::REFERENCE_NOT_FOUND)
    );
}

#[tokio::test]
async fn metadata_is_stripped_before_anything_is_stored() {
    let app = spawn_app().await;
    app.start("a hiking boot on a rock").await;

    let marker = "GPS 51.4779N 0.0015W secret-location";
    let response = app
        .upload(&[Part::file("image/jpeg", jpeg_with_exif(marker))])
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let jpeg: ReferenceView = response.json().await.expect("a view");
    assert_eq!(
        (jpeg.mime_type.as_str(), jpeg.width, jpeg.height),
        ("image/jpeg", 64, 48)
    );
    let stored = app.get(&jpeg.url).await.bytes().await.expect("bytes");
    assert!(!contains(&stored, b"Exif"), "the EXIF segment is gone");
    assert!(!contains(&stored, marker.as_bytes()));

    let png = png_with_text(&png(20, 20), marker);
    image::load_from_memory(&png).expect("the crafted PNG is valid");
    let stored_png = app.add_reference(png, "").await;
    let stored = app.get(&stored_png.url).await.bytes().await.expect("bytes");
    assert!(
        !contains(&stored, marker.as_bytes()),
        "the text chunk is gone"
    );
    assert!(!contains(&stored, b"tEXt"));
}

#[tokio::test]
async fn every_refused_upload_has_its_code_and_leaves_the_session_as_it_was() {
    let app = spawn_app().await;
    app.ready_session("a glass teapot").await;
    let kept = app.add_reference(png(16, 16), "style to match").await;
    let before = session_of(&app).await;

    let mut truncated = png(200, 200);
    truncated.truncate(truncated.len() / 2);
    let mut oversize = png(8, 8);
    oversize.resize(contracts::REFERENCE_MAX_BYTES + 1, 0);
    let mut over_body_limit = png(8, 8);
    over_body_limit.resize(contracts::REFERENCE_MAX_BYTES + 512 * 1024, 0);
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
    let webp_header_only = b"RIFF\x10\0\0\0WEBPVP8 \x04\0\0\0\0\0\0\0".to_vec();

    let cases: Vec<(&str, Vec<Part<'_>>, StatusCode, &str)> = vec![
        (
            "text called a PNG",
            vec![Part::file("image/png", b"hello, not an image".to_vec())],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            codes::REFERENCE_UNSUPPORTED_TYPE,
        ),
        (
            "a PNG called a JPEG",
            vec![Part::file("image/jpeg", png(8, 8))],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            codes::REFERENCE_UNSUPPORTED_TYPE,
        ),
        (
            "a GIF",
            vec![Part::file("image/gif", gif)],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            codes::REFERENCE_UNSUPPORTED_TYPE,
        ),
        (
            "a truncated PNG",
            vec![Part::file("image/png", truncated)],
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::REFERENCE_UNREADABLE,
        ),
        (
            "a WebP with no picture",
            vec![Part::file("image/webp", webp_header_only)],
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::REFERENCE_UNREADABLE,
        ),
        (
            "a decompression bomb",
            vec![Part::file("image/png", bomb_png(60_000, 60_000))],
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::REFERENCE_TOO_LARGE,
        ),
        (
            "too many pixels a side",
            vec![Part::file("image/png", png(4097, 2))],
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::REFERENCE_TOO_LARGE,
        ),
        (
            "a byte over the size limit",
            vec![Part::file("image/png", oversize)],
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::REFERENCE_TOO_LARGE,
        ),
        (
            "over the body limit",
            vec![Part::file("image/png", over_body_limit)],
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::REFERENCE_TOO_LARGE,
        ),
        (
            "a note over 120 characters",
            vec![
                Part::file("image/png", png(8, 8)),
                Part::note(&"n".repeat(121)),
            ],
            StatusCode::BAD_REQUEST,
            codes::INVALID_REQUEST,
        ),
        (
            "no file",
            vec![Part::note("our product")],
            StatusCode::BAD_REQUEST,
            codes::INVALID_REQUEST,
        ),
        (
            "an unknown field",
            vec![
                Part::file("image/png", png(8, 8)),
                Part {
                    name: "prompt",
                    file_name: None,
                    content_type: None,
                    bytes: b"x".to_vec(),
                },
            ],
            StatusCode::BAD_REQUEST,
            codes::INVALID_REQUEST,
        ),
    ];
    for (what, parts, status, code) in cases {
        let (got, error) = error_of(app.upload(&parts).await).await;
        assert_eq!(
            (got, error.code.as_str()),
            (status, code),
            "{what}: {error:?}"
        );
        assert_eq!(session_of(&app).await, before, "{what} changed the session");
    }
    // Not a form at all.
    let (status, error) = error_of(
        app.post_json(paths::SESSION_REFERENCES, &json!({"file": "x"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::BAD_REQUEST, codes::INVALID_REQUEST)
    );
    assert_eq!(session_of(&app).await, before);
    assert_eq!(app.get(&kept.url).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_fourth_reference_is_refused_until_one_is_deleted() {
    let app = spawn_app().await;
    app.start("three jars of honey").await;
    let mut references = Vec::new();
    for n in 0..3 {
        references.push(
            app.add_reference(png(10 + n, 10), &format!("jar {n}"))
                .await,
        );
    }
    let before = session_of(&app).await;
    assert_eq!(before.references, references, "listed in upload order");

    let (status, error) = error_of(app.upload(&[Part::file("image/png", png(9, 9))]).await).await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::CONFLICT, codes::TOO_MANY_REFERENCES)
    );
    assert_eq!(session_of(&app).await, before);

    assert_eq!(
        app.delete(&references[0].url).await.status(),
        StatusCode::NO_CONTENT
    );
    let fourth = app.add_reference(png(9, 9), "jar 3").await;
    let after = session_of(&app).await;
    assert_eq!(
        after.references,
        vec![references[1].clone(), references[2].clone(), fourth],
        "upload order, not slot order"
    );
}

#[tokio::test]
async fn a_seven_megabyte_upload_gets_through_while_json_routes_keep_their_16_kib_limit() {
    let app = spawn_app().await;
    app.start("a mosaic of sea glass").await;
    // Noise does not compress: this PNG is close to the 7 MiB limit.
    let big = noise_png(1500, 1600, 0x2545_f491);
    assert!(
        big.len() > 6_900_000 && big.len() <= contracts::REFERENCE_MAX_BYTES,
        "{} bytes",
        big.len()
    );
    let reference = app.add_reference(big, "").await;
    assert_eq!((reference.width, reference.height), (1500, 1600));

    let (status, error) = error_of(
        app.post_json(
            paths::SESSION_START,
            &json!({"templateId": "x".repeat(20_000)}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, error.code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, codes::PAYLOAD_TOO_LARGE)
    );
}
