//! espeak-ng on this machine, for offline speech (`media.local_speech: espeak-ng`): speech as
//! WAV, and its voices.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use super::failed;
use crate::tool::ToolError;

/// Longest a local speech engine may run.
const LOCAL_SPEECH_TIMEOUT: Duration = Duration::from_secs(120);

/// Speech from espeak-ng, as WAV bytes.
pub(super) async fn speak(voice: &str, text: &str) -> Result<Vec<u8>, ToolError> {
    if voice.starts_with('-') || voice.contains(char::is_whitespace) {
        return Err(ToolError::InvalidArguments(format!(
            "{voice:?} is not an espeak-ng voice (see get_available_voices)"
        )));
    }
    let dir = tempfile_dir()?;
    let spoken = espeak_into(voice, text, &dir.join("speech.wav")).await;
    let _ = std::fs::remove_dir_all(&dir);
    spoken
}

/// Runs espeak-ng writing `out`; its bytes.
async fn espeak_into(voice: &str, text: &str, out: &Path) -> Result<Vec<u8>, ToolError> {
    let mut child = tokio::process::Command::new("espeak-ng")
        .arg("-v")
        .arg(voice)
        .arg("-w")
        .arg(out)
        .arg("--stdin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            ToolError::Unavailable(format!(
                "media.local_speech is espeak-ng, but espeak-ng cannot run ({e}): install it (Debian: apt-get install espeak-ng)"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        use tokio::io::AsyncWriteExt;
        stdin
            .write_all(text.as_bytes())
            .await
            .map_err(|e| failed(format!("espeak-ng: {e}")))?;
    }
    let output = tokio::time::timeout(LOCAL_SPEECH_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| failed("espeak-ng took too long"))?
        .map_err(|e| failed(format!("espeak-ng: {e}")))?;
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if !output.status.success() || stderr.contains("not found") {
        return Err(failed(format!(
            "espeak-ng failed{}: see get_available_voices for its voices",
            if stderr.is_empty() {
                String::new()
            } else {
                format!(" ({stderr})")
            }
        )));
    }
    std::fs::read(out).map_err(|e| failed(format!("espeak-ng wrote nothing ({e})")))
}

/// A private temporary folder for one engine run.
fn tempfile_dir() -> Result<std::path::PathBuf, ToolError> {
    let dir = std::env::temp_dir().join(format!("okcvm-speech-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir(&dir)
        .map_err(|e| failed(format!("no temporary folder for speech ({e})")))?;
    Ok(dir)
}

/// espeak-ng's voices, from `espeak-ng --voices`.
pub(super) async fn voices() -> Result<Vec<Value>, ToolError> {
    let output = tokio::process::Command::new("espeak-ng")
        .arg("--voices")
        .output()
        .await
        .map_err(|e| {
            ToolError::Unavailable(format!(
                "media.local_speech is espeak-ng, but espeak-ng cannot run ({e}): install it (Debian: apt-get install espeak-ng)"
            ))
        })?;
    Ok(voice_table(&String::from_utf8_lossy(&output.stdout)))
}

/// The voices of `espeak-ng --voices`: `Pty Language Age/Gender VoiceName File Other`.
fn voice_table(table: &str) -> Vec<Value> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let columns: Vec<&str> = line.split_whitespace().collect();
            let [_, language, gender, name, ..] = columns.as_slice() else {
                return None;
            };
            Some(json!({
                "voice_id": language,
                "name": name.replace('_', " "),
                "language": language,
                "description": format!("espeak-ng voice, {}", gender.trim_start_matches("--/")),
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn espeak_voices_are_read_from_its_table() {
        let table = "Pty Language       Age/Gender VoiceName          File                 Other Languages\n 5  af              --/M      Afrikaans          gmw/af\n 2  en-us           --/M      English_(America)  gmw/en-US            (en 3)\n";
        let voices = voice_table(table);
        assert_eq!(voices.len(), 2);
        assert_eq!(voices[1]["voice_id"], "en-us");
        assert_eq!(voices[1]["name"], "English (America)");
    }
}
