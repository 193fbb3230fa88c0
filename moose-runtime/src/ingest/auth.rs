//! Bearer-token authentication: one layer over every route but the probes.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::{Choice, ConstantTimeEq};

use super::error::IngestError;

/// The auth layer's body: the request goes on only with an accepted token (or when none is
/// configured); otherwise 401 with `WWW-Authenticate: Bearer`, before any handler runs.
pub(crate) async fn require_token(
    State(tokens): State<Tokens>,
    request: Request,
    next: Next,
) -> Response {
    match tokens.check(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

/// The accepted tokens. Tokens are compared in constant time and never logged or echoed.
#[derive(Clone)]
pub(crate) struct Tokens {
    /// Whether authentication is on (some token was configured).
    required: bool,
    /// The non-empty configured tokens; an empty one would accept `Bearer ` with nothing.
    accepted: Vec<Box<[u8]>>,
}

impl Tokens {
    pub(crate) fn new(tokens: &[String]) -> Self {
        Self {
            required: !tokens.is_empty(),
            accepted: tokens
                .iter()
                .filter(|t| !t.is_empty())
                .map(|t| t.as_bytes().into())
                .collect(),
        }
    }

    /// `Ok` when no token is required or the request carries an accepted one.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), IngestError> {
        if !self.required {
            return Ok(());
        }
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| bearer_token(value.as_bytes()))
        else {
            return Err(IngestError::Unauthorized { missing: true });
        };
        // Every token is compared, so timing does not tell which one (or how many) exist;
        // `ct_eq` on slices of different lengths reveals only that the lengths differ.
        let matched = self
            .accepted
            .iter()
            .fold(Choice::from(0), |found, token| found | token.ct_eq(given));
        if bool::from(matched) {
            Ok(())
        } else {
            Err(IngestError::Unauthorized { missing: false })
        }
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive, RFC 7235).
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer ";
    if value.len() < SCHEME.len() || !value[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let token = value[SCHEME.len()..].trim_ascii();
    (!token.is_empty()).then_some(token)
}
