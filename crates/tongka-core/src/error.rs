//! The shape every refusal of the domain has: a stable machine code, an
//! English message (`Display`) and a Chinese one, and details for clients.

/// A refusal that a client is shown. The API renders it as
/// `{"error": {"code", "message", "message_zh", ...details}}`.
pub trait DomainError: std::error::Error {
    /// Stable snake_case code, e.g. `insufficient_balance`.
    fn code(&self) -> &'static str;
    /// The message in Simplified Chinese.
    fn message_zh(&self) -> String;
    /// Extra fields for the client, as (name, value) pairs of strings.
    fn details(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}
