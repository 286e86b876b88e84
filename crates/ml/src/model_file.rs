//! The header every Rampart model file carries — its format name, format
//! version and the version of Rampart that wrote it — checked before the
//! rest is read, so a file from another version is refused as such (with
//! the command that rebuilds it) rather than reported malformed.

use serde::de::DeserializeOwned;

use crate::ModelFileError;

/// What a kind of model file must say about itself.
pub(crate) struct Header {
    pub format: &'static str,
    pub version: u32,
    /// The command that writes a file of this kind, for the error message.
    pub retrain: &'static str,
}

/// Reads a model file's text as `T` once its header is `header`'s.
pub(crate) fn read<T: DeserializeOwned>(text: &str, header: &Header) -> Result<T, ModelFileError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ModelFileError::Json(e.to_string()))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(header.format) {
        return Err(ModelFileError::NotAModel(header.format));
    }
    let version = value.get("format_version").and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(header.version)) {
        let writer = value.get("rampart_version").and_then(|v| v.as_str()).unwrap_or("unknown");
        return Err(ModelFileError::Version {
            found: version.map_or("missing".to_owned(), |v| v.to_string()),
            writer: writer.to_owned(),
            ours: env!("CARGO_PKG_VERSION"),
            reads: header.version,
            retrain: header.retrain,
        });
    }
    serde_json::from_value(value).map_err(|e| ModelFileError::Malformed(e.to_string()))
}
