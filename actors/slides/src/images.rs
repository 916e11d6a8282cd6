//! The deck's images: loaded once per source (a workspace file or a `data:` URL), checked to be
//! a format every presentation program shows, and measured.

use std::collections::HashMap;

use base64::Engine;

use crate::deck::Image;

/// Reads an image the page names that is not a `data:` URL (a file, by the source as written
/// in the page): the caller's own file access, for the engine reads no files itself. The error
/// becomes a warning that names the image.
pub type Loader<'a> = &'a dyn Fn(&str) -> Result<Vec<u8>, String>;

pub(crate) struct ImageStore<'a> {
    load: Loader<'a>,
    by_source: HashMap<String, Result<usize, String>>,
    pub images: Vec<Image>,
}

impl<'a> ImageStore<'a> {
    pub fn new(load: Loader<'a>) -> Self {
        Self {
            load,
            by_source: HashMap::new(),
            images: Vec::new(),
        }
    }

    /// The index of the image at `source`, loading it the first time.
    pub fn get(&mut self, source: &str) -> Result<usize, String> {
        if let Some(known) = self.by_source.get(source) {
            return known.clone();
        }
        let loaded = self.load(source);
        let result = loaded.map(|image| {
            self.images.push(image);
            self.images.len() - 1
        });
        self.by_source.insert(source.to_owned(), result.clone());
        result
    }

    fn load(&self, source: &str) -> Result<Image, String> {
        let bytes = if let Some(data) = source.strip_prefix("data:") {
            data_url(data)?
        } else if source.starts_with("http://") || source.starts_with("https://") {
            return Err(
                "images on the web are not fetched: save the image in the workspace and give its path"
                    .to_owned(),
            );
        } else {
            (self.load)(source)?
        };
        decode(bytes)
    }
}

fn data_url(data: &str) -> Result<Vec<u8>, String> {
    let (meta, payload) = data.split_once(',').ok_or("a data: URL without a comma")?;
    if meta.ends_with(";base64") {
        let payload: String = payload.split_whitespace().collect();
        base64::engine::general_purpose::STANDARD
            .decode(payload.as_bytes())
            .map_err(|e| format!("a data: URL that is not valid base64 ({e})"))
    } else {
        Ok(percent_decode(payload))
    }
}

/// `%XX` escapes decoded (malformed ones kept as they are), as in an image's source.
pub fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            // `get`: the two bytes after `%` may cut a character, which is no escape.
            if let Some(b) = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn decode(bytes: Vec<u8>) -> Result<Image, String> {
    use imagesize::ImageType;
    let format = match imagesize::image_type(&bytes) {
        Ok(ImageType::Png) => ("png", "image/png"),
        Ok(ImageType::Jpeg) => ("jpeg", "image/jpeg"),
        Ok(ImageType::Gif) => ("gif", "image/gif"),
        Ok(ImageType::Bmp) => ("bmp", "image/bmp"),
        Ok(ImageType::Tiff) => ("tiff", "image/tiff"),
        Ok(other) => {
            return Err(format!(
                "{other:?} images cannot go into a deck: convert it to PNG or JPEG"
            ))
        }
        Err(_) => {
            return Err(
                "not an image file (or SVG, which a deck cannot hold: convert it to PNG)"
                    .to_owned(),
            )
        }
    };
    let size = imagesize::blob_size(&bytes).map_err(|e| format!("unreadable image ({e})"))?;
    if size.width == 0 || size.height == 0 {
        return Err("an image with no pixels".to_owned());
    }
    Ok(Image {
        bytes,
        format,
        width: size.width as f32,
        height: size.height as f32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2x1 PNG.
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0,
        0, 0, 2, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x7b, 0x40, 0xe8, 0xdd,
    ];

    #[test]
    fn escapes_are_decoded_and_a_percent_before_a_wide_character_is_kept() {
        assert_eq!(percent_decode("a%20b%2Fc"), b"a b/c");
        assert_eq!(percent_decode("100%"), b"100%");
        // The two bytes after `%` end inside `é`: no escape, and no panic.
        assert_eq!(percent_decode("%a\u{e9}.png"), "%a\u{e9}.png".as_bytes());
        assert_eq!(percent_decode("%\u{e9}"), "%\u{e9}".as_bytes());
    }

    #[test]
    fn data_urls_and_files_load_once_and_failures_are_remembered() {
        let calls = std::cell::Cell::new(0);
        let load = |path: &str| {
            calls.set(calls.get() + 1);
            match path {
                "a.png" => Ok(PNG.to_vec()),
                _ => Err(format!("{path} does not exist")),
            }
        };
        let mut store = ImageStore::new(&load);
        assert_eq!(store.get("a.png"), Ok(0));
        assert_eq!(store.get("a.png"), Ok(0));
        assert_eq!(calls.get(), 1);
        assert_eq!((store.images[0].width, store.images[0].height), (2.0, 1.0));
        let encoded = base64::engine::general_purpose::STANDARD.encode(PNG);
        assert_eq!(
            store.get(&format!("data:image/png;base64,{encoded}")),
            Ok(1)
        );
        assert!(store
            .get("missing.png")
            .unwrap_err()
            .contains("does not exist"));
        assert!(store
            .get("https://example.com/x.png")
            .unwrap_err()
            .contains("workspace"));
        assert!(store
            .get("data:image/svg+xml,%3Csvg%3E")
            .unwrap_err()
            .contains("SVG"));
    }
}
