//! A zip archive writer with what an OOXML package needs: deflated or stored entries with UTF-8
//! names. No zip64: a deck over 4 GiB is refused.

use std::io::Write;

pub(crate) struct ZipWriter {
    out: Vec<u8>,
    central: Vec<u8>,
    entries: u16,
}

/// 1980-01-01 00:00 in MS-DOS form: packages are the same bytes whenever they are made.
const DOS_DATE: u16 = (1 << 5) | 1;
/// UTF-8 names.
const FLAGS: u16 = 1 << 11;

fn too_large() -> String {
    "the deck is too large for a zip archive without zip64 (over 4 GiB or 65535 parts)".to_owned()
}

impl ZipWriter {
    pub fn new() -> Self {
        Self {
            out: Vec::new(),
            central: Vec::new(),
            entries: 0,
        }
    }

    /// Adds a file; `compress` deflates it (already-compressed media are better stored).
    pub fn add(&mut self, name: &str, data: &[u8], compress: bool) -> Result<(), String> {
        let crc = crc32fast::hash(data);
        let (method, body): (u16, std::borrow::Cow<'_, [u8]>) = if compress {
            let mut encoder =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            encoder
                .write_all(data)
                .and_then(|()| encoder.finish())
                .map(|deflated| (8, deflated.into()))
                .map_err(|e| format!("compressing {name}: {e}"))?
        } else {
            (0, data.into())
        };
        let offset = u32::try_from(self.out.len()).map_err(|_| too_large())?;
        let size = u32::try_from(data.len()).map_err(|_| too_large())?;
        let compressed = u32::try_from(body.len()).map_err(|_| too_large())?;
        let name_len = u16::try_from(name.len()).map_err(|_| too_large())?;
        self.entries = self.entries.checked_add(1).ok_or_else(too_large)?;

        let out = &mut self.out;
        out.extend(0x0403_4b50u32.to_le_bytes());
        for field in [20u16, FLAGS, method, 0, DOS_DATE] {
            out.extend(field.to_le_bytes());
        }
        for field in [crc, compressed, size] {
            out.extend(field.to_le_bytes());
        }
        out.extend(name_len.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(body.iter());

        let central = &mut self.central;
        central.extend(0x0201_4b50u32.to_le_bytes());
        for field in [20u16, 20, FLAGS, method, 0, DOS_DATE] {
            central.extend(field.to_le_bytes());
        }
        for field in [crc, compressed, size] {
            central.extend(field.to_le_bytes());
        }
        for field in [name_len, 0, 0, 0, 0] {
            central.extend(field.to_le_bytes());
        }
        central.extend(0u32.to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
        Ok(())
    }

    pub fn finish(mut self) -> Result<Vec<u8>, String> {
        let offset = u32::try_from(self.out.len()).map_err(|_| too_large())?;
        let size = u32::try_from(self.central.len()).map_err(|_| too_large())?;
        self.out.extend_from_slice(&self.central);
        self.out.extend(0x0605_4b50u32.to_le_bytes());
        for field in [0u16, 0, self.entries, self.entries] {
            self.out.extend(field.to_le_bytes());
        }
        self.out.extend(size.to_le_bytes());
        self.out.extend(offset.to_le_bytes());
        self.out.extend(0u16.to_le_bytes());
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_open_with_pythons_zipfile_and_hold_the_same_bytes() {
        let mut zip = ZipWriter::new();
        let text = "héllo ".repeat(1000);
        zip.add("[Content_Types].xml", text.as_bytes(), true)
            .unwrap();
        zip.add("ppt/media/image1.png", &[0, 1, 2, 3], false)
            .unwrap();
        let bytes = zip.finish().unwrap();
        assert!(bytes.len() < text.len(), "the text was deflated");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.zip");
        std::fs::write(&path, bytes).unwrap();
        let script = r#"
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
print(z.namelist())
print(len(z.read("[Content_Types].xml").decode("utf-8")))
print(list(z.read("ppt/media/image1.png")))
"#;
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .arg(&path)
            .output()
            .expect("python3 runs (the test suite needs it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            out,
            format!(
                "['[Content_Types].xml', 'ppt/media/image1.png']\n{}\n[0, 1, 2, 3]\n",
                text.chars().count()
            )
        );
    }
}
