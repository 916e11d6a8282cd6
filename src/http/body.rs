//! Request bodies: JSON bodies (their content type and size) and multipart uploads (their
//! content type and announced length), each refused with the API's error body before any of it
//! is read when it cannot be accepted.

use warp::http::StatusCode;
use warp::{Filter, Rejection};

use super::error::ApiError;

/// A JSON request body of at most `limit` bytes: 415 `unsupported_media_type` unless it is
/// sent as `application/json` (a browser can send a cross-site form or a `text/plain` body
/// without asking first, but never this type), 413 `body_too_large` beyond the limit.
pub(crate) fn json(
    limit: u64,
) -> impl Filter<Extract = (bytes::Bytes,), Error = Rejection> + Clone {
    warp::header::optional::<String>("content-type")
        .and_then(|content_type: Option<String>| async move {
            if is_json(content_type.as_deref()) {
                Ok(())
            } else {
                Err(warp::reject::custom(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the body as JSON, with Content-Type: application/json",
                )))
            }
        })
        .untuple_one()
        .and(limited(limit))
}

/// `application/json`, with or without parameters such as `; charset=utf-8`.
fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

fn too_large(limit: u64) -> Rejection {
    warp::reject::custom(ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!(
            "the request body is larger than this route's limit of {} KiB",
            limit / 1024
        ),
    ))
}

/// The request body, at most `limit` bytes (413 `body_too_large` beyond, whether or not a
/// length was announced).
fn limited(limit: u64) -> impl Filter<Extract = (bytes::Bytes,), Error = Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and(warp::body::stream())
        .and_then(move |length: Option<u64>, body| async move {
            if length.is_some_and(|n| n > limit) {
                return Err(too_large(limit));
            }
            collect(body, limit).await.ok_or_else(|| too_large(limit))
        })
}

/// A multipart form (streamed): 415 `unsupported_media_type` for any other content type, 411
/// `length_required` without a `Content-Length`, 413 `body_too_large` when it announces more
/// than `limit` bytes.
pub(crate) fn multipart(
    limit: u64,
) -> impl Filter<Extract = (warp::multipart::FormData,), Error = Rejection> + Clone {
    warp::header::optional::<String>("content-type")
        .and(warp::header::optional::<u64>("content-length"))
        .and_then(
            move |content_type: Option<String>, length: Option<u64>| async move {
                if !content_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("multipart/form-data"))
                {
                    return Err(warp::reject::custom(ApiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "unsupported_media_type",
                        "send the files as multipart/form-data, in fields named \"files\"",
                    )));
                }
                match length {
                    None => Err(warp::reject::custom(ApiError::new(
                        StatusCode::LENGTH_REQUIRED,
                        "length_required",
                        "send the upload with a Content-Length header",
                    ))),
                    Some(n) if n > limit => Err(too_large(limit)),
                    Some(_) => Ok(()),
                }
            },
        )
        .untuple_one()
        .and(warp::multipart::form().max_length(limit))
}

/// Reads a body stream into memory, giving up past `limit` bytes.
async fn collect(
    body: impl futures::Stream<Item = Result<impl bytes::Buf, warp::Error>>,
    limit: u64,
) -> Option<bytes::Bytes> {
    use futures::StreamExt;
    let mut out = bytes::BytesMut::new();
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.ok()?;
        if out.len() as u64 + chunk.remaining() as u64 > limit {
            return None;
        }
        while chunk.has_remaining() {
            let piece = chunk.chunk();
            out.extend_from_slice(piece);
            let n = piece.len();
            chunk.advance(n);
        }
    }
    Some(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_application_json_with_any_parameters_is_json() {
        for yes in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON;charset=UTF-8",
        ] {
            assert!(is_json(Some(yes)), "{yes}");
        }
        for no in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/jsonp"),
            Some(""),
        ] {
            assert!(!is_json(no), "{no:?}");
        }
    }
}
