//! Text the server and the browser app both produce, spelled in one place so the two cannot
//! drift: the file name a downloaded image gets, and how the time until the daily limits reset
//! is written.

use crate::ImageView;

/// The file name of a downloaded image: `prompt-refinery-<first 8 characters of its id>.<ext>`,
/// the extension following the image's MIME type (PNG unless it says JPEG or WebP).
///
/// The server sends it in `Content-Disposition`; the browser app puts it on the download link.
pub fn image_file_name(image_id: &str, mime_type: &str) -> String {
    let extension = match mime_type {
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        _ => "png",
    };
    let short: String = image_id.chars().take(8).collect();
    format!("prompt-refinery-{short}.{extension}")
}

/// Whole hours and minutes, as the quota messages say how long until midnight UTC: `3 h 2 min`.
pub fn hours_minutes(secs: u64) -> String {
    format!("{} h {} min", secs / 3600, secs % 3600 / 60)
}

impl ImageView {
    /// The image id: the last segment of its URL, `/api/images/{imageId}`.
    pub fn id(&self) -> &str {
        self.url.rsplit('/').next().unwrap_or_default()
    }

    /// See [`image_file_name`].
    pub fn file_name(&self) -> String {
        image_file_name(self.id(), &self.mime_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AspectRatio, paths};

    #[test]
    fn download_names_use_the_short_id_and_the_type_extension() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            image_file_name(id, "image/png"),
            "prompt-refinery-01234567.png"
        );
        assert_eq!(
            image_file_name(id, "image/jpeg"),
            "prompt-refinery-01234567.jpg"
        );
        assert_eq!(
            image_file_name(id, "image/webp"),
            "prompt-refinery-01234567.webp"
        );
        assert_eq!(
            image_file_name("ab", "text/plain"),
            "prompt-refinery-ab.png"
        );
    }

    #[test]
    fn an_image_view_names_its_download_like_the_server() {
        let id = "fedcba9876543210";
        let image = ImageView {
            image_id: id.into(),
            url: paths::image(id),
            mime_type: "image/jpeg".into(),
            width: 1,
            height: 1,
            alt: String::new(),
            summary: String::new(),
            aspect_ratio: AspectRatio::Square,
            image_size: crate::ImageSize::OneK,
            offline_preview: false,
        };
        assert_eq!(image.id(), id);
        assert_eq!(image.file_name(), image_file_name(id, "image/jpeg"));
    }

    #[test]
    fn reset_times_are_whole_hours_and_minutes() {
        assert_eq!(hours_minutes(3 * 3600 + 120), "3 h 2 min");
        assert_eq!(hours_minutes(59), "0 h 0 min");
        assert_eq!(hours_minutes(86_399), "23 h 59 min");
    }
}
