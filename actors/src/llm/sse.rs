//! A server-sent-events decoder for streamed completions: bytes in, `data` payloads out.
//!
//! Providers differ in the small things: `\r\n` or `\n` line ends, comments used as
//! keep-alives, `event:` lines, and `data:` with or without a space. A payload may be split
//! across any number of network chunks, including in the middle of a UTF-8 character.

/// Turns network chunks into the `data` payloads of complete events.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Bytes of an incomplete line.
    pending: Vec<u8>,
    /// `data` lines of the event being read.
    data: Vec<String>,
}

/// Refuses to buffer a single line beyond this; no legitimate chunk comes near it.
const MAX_LINE: usize = 16 * 1024 * 1024;

impl SseDecoder {
    /// Feeds one chunk; returns the payloads of the events it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<String>, String> {
        let mut events = Vec::new();
        let mut rest = chunk;
        while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
            self.pending.extend_from_slice(&rest[..pos]);
            rest = &rest[pos + 1..];
            let mut line = std::mem::take(&mut self.pending);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8(line)
                .map_err(|_| "the event stream is not valid UTF-8".to_string())?;
            if let Some(payload) = self.line(&line) {
                events.push(payload);
            }
        }
        self.pending.extend_from_slice(rest);
        if self.pending.len() > MAX_LINE {
            return Err("an event stream line exceeds 16 MiB".into());
        }
        Ok(events)
    }

    /// Ends the stream: an event without its closing blank line still counts.
    pub fn finish(&mut self) -> Option<String> {
        if !self.pending.is_empty() {
            let line = String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned();
            let line = line.trim_end_matches('\r').to_string();
            if let Some(payload) = self.line(&line) {
                return Some(payload);
            }
        }
        self.dispatch()
    }

    fn line(&mut self, line: &str) -> Option<String> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        if field == "data" {
            self.data.push(value.to_string());
        }
        None
    }

    fn dispatch(&mut self) -> Option<String> {
        if self.data.is_empty() {
            return None;
        }
        Some(std::mem::take(&mut self.data).join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(chunks: &[&[u8]]) -> Vec<String> {
        let mut decoder = SseDecoder::default();
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend(decoder.feed(chunk).unwrap());
        }
        out.extend(decoder.finish());
        out
    }

    #[test]
    fn payloads_split_across_chunks_are_joined() {
        let out = decode_all(&[b"da", b"ta: {\"a\":", b"1}\n", b"\ndata: [DONE]\n\n"]);
        assert_eq!(out, ["{\"a\":1}", "[DONE]"]);
    }

    #[test]
    fn crlf_comments_and_event_lines_are_handled() {
        let out = decode_all(&[b": keep-alive\r\n\r\nevent: message\r\ndata:x\r\n\r\n"]);
        assert_eq!(out, ["x"]);
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines() {
        assert_eq!(decode_all(&[b"data: a\ndata: b\n\n"]), ["a\nb"]);
    }

    #[test]
    fn a_character_split_between_chunks_survives() {
        let text = "data: é\n\n".as_bytes();
        let (a, b) = text.split_at(7);
        assert_eq!(decode_all(&[a, b]), ["é"]);
    }

    #[test]
    fn a_final_event_without_blank_line_is_kept() {
        assert_eq!(decode_all(&[b"data: last"]), ["last"]);
    }
}
