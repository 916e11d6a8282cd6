//! The one error shape of the API, `{"detail", "code"}`, and the single place every rejection
//! becomes it.

use std::convert::Infallible;

use okcvm_actors::session::SessionError;
use okcvm_actors::storage::StorageError;
use okcvm_actors::RuntimeError;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Rejection, Reply};

/// An error a client sees: a status, a stable code to branch on, and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
}

impl warp::reject::Reject for ApiError {}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }

    /// A failure on our side: logged here with its detail; the client gets a plain message.
    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            format!("{context}; the error was logged"),
        )
    }

    pub fn into_response(self) -> Response {
        let body = serde_json::json!({"detail": self.detail, "code": self.code});
        warp::reply::with_status(warp::reply::json(&body), self.status).into_response()
    }
}

impl From<SessionError> for ApiError {
    fn from(error: SessionError) -> Self {
        let status = match &error {
            SessionError::TurnInProgress | SessionError::WorkspaceBusy(_) => StatusCode::CONFLICT,
            SessionError::EmptyMessage | SessionError::NotAUserMessage(_) => {
                StatusCode::BAD_REQUEST
            }
            SessionError::UnknownMessage(_) => StatusCode::NOT_FOUND,
            SessionError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            SessionError::Storage(e) => return e.clone().into(),
        };
        ApiError::new(status, error.code(), error.to_string())
    }
}

impl From<RuntimeError> for ApiError {
    fn from(error: RuntimeError) -> Self {
        match error {
            RuntimeError::InvalidId { .. } => {
                ApiError::bad_request("invalid_client_id", error.to_string())
            }
            RuntimeError::Unavailable => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the server is not ready or is shutting down; try again",
            ),
            RuntimeError::Storage(e) => e.into(),
            other => ApiError::internal("the server failed", other),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Down(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                format!("{error}; try again later"),
            ),
            other => ApiError::internal("the store failed", other),
        }
    }
}

/// Turns every rejection, ours or warp's, into the API's error body.
pub async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    if let Some(limited) = rejection.find::<super::ratelimit::TooManyRequests>() {
        return Ok(limited.to_response());
    }
    Ok(to_api_error(&rejection).into_response())
}

fn to_api_error(rejection: &Rejection) -> ApiError {
    if let Some(error) = rejection.find::<ApiError>() {
        return error.clone();
    }
    if rejection.is_not_found() {
        return ApiError::not_found("not_found", "no such route");
    }
    if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is larger than this route accepts",
        );
    }
    if rejection.find::<warp::reject::LengthRequired>().is_some() {
        return ApiError::new(
            StatusCode::LENGTH_REQUIRED,
            "length_required",
            "send a Content-Length header with the body",
        );
    }
    if rejection
        .find::<warp::reject::UnsupportedMediaType>()
        .is_some()
    {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "this route does not accept that content type",
        );
    }
    if let Some(e) = rejection.find::<warp::reject::InvalidQuery>() {
        return ApiError::bad_request("invalid_query", format!("invalid query string: {e}"));
    }
    if let Some(e) = rejection.find::<warp::reject::InvalidHeader>() {
        return ApiError::bad_request("invalid_header", format!("invalid header: {e}"));
    }
    if let Some(e) = rejection.find::<warp::reject::MissingHeader>() {
        return ApiError::bad_request("missing_header", format!("missing header: {e}"));
    }
    if let Some(e) = rejection.find::<warp::cors::CorsForbidden>() {
        return ApiError::new(StatusCode::FORBIDDEN, "cors_forbidden", e.to_string());
    }
    // Last: another route on the same path refused the method, but the route that takes it
    // has said something more precise above.
    if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not take that method",
        );
    }
    tracing::warn!(?rejection, "unhandled rejection");
    ApiError::bad_request("bad_request", "the request could not be understood")
}

/// The JSON body as `T`, refusing unknown fields and naming what was wrong.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "invalid_json",
            "the request body is empty; send a JSON object",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let code = if e.is_data() {
            "invalid_field"
        } else {
            "invalid_json"
        };
        let status = if e.is_data() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(status, code, format!("invalid request body: {e}"))
    })
}
