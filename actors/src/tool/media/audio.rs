//! What an audio file says about itself: its format, and its duration when the header tells
//! it (WAV, FLAC) or the frames do (MP3: a Xing/Info header, else the constant bit rate).

/// An audio file's format and duration.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFacts {
    pub format: &'static str,
    pub duration_s: Option<f64>,
}

pub fn facts(bytes: &[u8]) -> AudioFacts {
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE" {
        return AudioFacts {
            format: "wav",
            duration_s: wav_duration(bytes),
        };
    }
    if bytes.starts_with(b"fLaC") {
        return AudioFacts {
            format: "flac",
            duration_s: flac_duration(bytes),
        };
    }
    if bytes.starts_with(b"OggS") {
        return AudioFacts {
            format: "ogg",
            duration_s: None,
        };
    }
    if bytes.len() > 8 && &bytes[4..8] == b"ftyp" {
        return AudioFacts {
            format: "m4a",
            duration_s: None,
        };
    }
    match mp3_duration(bytes) {
        Some(duration) => AudioFacts {
            format: "mp3",
            duration_s: Some(duration),
        },
        None if bytes.starts_with(b"ID3") => AudioFacts {
            format: "mp3",
            duration_s: None,
        },
        None => AudioFacts {
            format: "audio",
            duration_s: None,
        },
    }
}

fn u32_le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn wav_duration(bytes: &[u8]) -> Option<f64> {
    let mut at = 12;
    let mut byte_rate = None;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32_le(&bytes[at + 4..at + 8]) as usize;
        let body = at + 8;
        if id == b"fmt " && body + 12 <= bytes.len() {
            byte_rate = Some(u32_le(&bytes[body + 8..body + 12]));
        } else if id == b"data" {
            // A streamed WAV may say 0 or 0xFFFFFFFF: then the data runs to the end.
            let len = if size == 0 || body + size > bytes.len() {
                bytes.len() - body
            } else {
                size
            };
            return byte_rate
                .filter(|r| *r > 0)
                .map(|r| len as f64 / f64::from(r));
        }
        at = body + size + (size & 1);
    }
    None
}

fn flac_duration(bytes: &[u8]) -> Option<f64> {
    // STREAMINFO is the first metadata block: sample rate (20 bits), channels, bits, samples (36).
    let info = bytes.get(8..8 + 18)?;
    let rate =
        (u32::from(info[10]) << 12) | (u32::from(info[11]) << 4) | (u32::from(info[12]) >> 4);
    let samples = (u64::from(info[13] & 0x0f) << 32)
        | (u64::from(info[14]) << 24)
        | (u64::from(info[15]) << 16)
        | (u64::from(info[16]) << 8)
        | u64::from(info[17]);
    (rate > 0 && samples > 0).then(|| samples as f64 / f64::from(rate))
}

const MP3_BITRATES_V1_L3: [u32; 16] = [
    0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0,
];
const MP3_BITRATES_V2_L3: [u32; 16] = [
    0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0,
];

fn mp3_duration(bytes: &[u8]) -> Option<f64> {
    let mut at = 0;
    if bytes.starts_with(b"ID3") && bytes.len() > 10 {
        let size = bytes[6..10]
            .iter()
            .fold(0usize, |n, b| (n << 7) | usize::from(b & 0x7f));
        at = 10 + size;
    }
    // The first frame header: 11 sync bits.
    while at + 4 <= bytes.len() && !(bytes[at] == 0xff && bytes[at + 1] & 0xe0 == 0xe0) {
        at += 1;
        if at > 64 * 1024 {
            return None;
        }
    }
    let header = bytes.get(at..at + 4)?;
    let version = (header[1] >> 3) & 0x03; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    let layer = (header[1] >> 1) & 0x03; // 1: layer III
    if layer != 1 || version == 1 {
        return None;
    }
    let bitrate_index = usize::from(header[2] >> 4);
    let rates: [u32; 3] = match version {
        3 => [44_100, 48_000, 32_000],
        2 => [22_050, 24_000, 16_000],
        _ => [11_025, 12_000, 8_000],
    };
    let sample_rate = *rates.get(usize::from((header[2] >> 2) & 0x03))?;
    let samples_per_frame = if version == 3 { 1152 } else { 576 };
    // A Xing or Info header in the first frame counts the frames (variable bit rate).
    let side = match (version == 3, header[3] >> 6 == 3) {
        (true, false) => 32,
        (true, true) => 17,
        (false, false) => 17,
        (false, true) => 9,
    };
    let tag = at + 4 + side;
    if let Some(mark) = bytes.get(tag..tag + 8) {
        if &mark[..4] == b"Xing" || &mark[..4] == b"Info" {
            let flags = u32::from_be_bytes([mark[4], mark[5], mark[6], mark[7]]);
            if flags & 1 == 1 {
                let frames = bytes.get(tag + 8..tag + 12)?;
                let frames = u32::from_be_bytes([frames[0], frames[1], frames[2], frames[3]]);
                return Some(
                    f64::from(frames) * f64::from(samples_per_frame) / f64::from(sample_rate),
                );
            }
        }
    }
    let bitrate = if version == 3 {
        MP3_BITRATES_V1_L3
    } else {
        MP3_BITRATES_V2_L3
    }[bitrate_index];
    (bitrate > 0).then(|| (bytes.len() - at) as f64 * 8.0 / (f64::from(bitrate) * 1000.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(seconds: u32, rate: u32) -> Vec<u8> {
        let data = rate * 2 * seconds;
        let mut out = b"RIFF".to_vec();
        out.extend((36 + data).to_le_bytes());
        out.extend(b"WAVEfmt ");
        out.extend(16u32.to_le_bytes());
        out.extend(1u16.to_le_bytes()); // PCM
        out.extend(1u16.to_le_bytes()); // mono
        out.extend(rate.to_le_bytes());
        out.extend((rate * 2).to_le_bytes());
        out.extend(2u16.to_le_bytes());
        out.extend(16u16.to_le_bytes());
        out.extend(b"data");
        out.extend(data.to_le_bytes());
        out.extend(vec![0u8; data as usize]);
        out
    }

    #[test]
    fn wav_and_mp3_durations_come_from_their_headers() {
        assert_eq!(
            facts(&wav(2, 22_050)),
            AudioFacts {
                format: "wav",
                duration_s: Some(2.0)
            }
        );
        // Ten 128 kb/s MPEG-1 layer III frames of 417 bytes at 44.1 kHz.
        let mut mp3 = Vec::new();
        for _ in 0..10 {
            let mut frame = vec![0xff, 0xfb, 0x90, 0x64];
            frame.resize(417, 0);
            mp3.extend(frame);
        }
        let facts = facts(&mp3);
        assert_eq!(facts.format, "mp3");
        let d = facts.duration_s.unwrap();
        assert!((d - 0.2606).abs() < 0.01, "{d}");
        assert_eq!(super::facts(b"not audio at all").format, "audio");
    }
}
