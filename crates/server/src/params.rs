//! Query-string parsing with errors that name the parameter.
//!
//! Unknown parameters are refused rather than ignored: `?sourceip=` silently
//! returning everything would be a quiet lie.

use std::collections::HashMap;

use crate::error::ApiError;

pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn new(raw: HashMap<String, String>, allowed: &[&str]) -> Result<Params, ApiError> {
        if let Some(unknown) = raw.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::bad(
                unknown.clone(),
                format!("unknown parameter; expected one of {}", allowed.join(", ")),
            ));
        }
        // `?value=` is not "no filter": say so rather than guess.
        if let Some((empty, _)) = raw.iter().find(|(_, v)| v.is_empty()) {
            return Err(ApiError::bad(empty.clone(), "empty; give a value or leave the parameter out"));
        }
        Ok(Params(raw))
    }

    /// Accepts exactly the parameters `T` documents (its `IntoParams`
    /// names), so the document and the handler cannot disagree on them.
    pub(crate) fn documented<T: utoipa::IntoParams>(raw: HashMap<String, String>) -> Result<Params, ApiError> {
        let names: Vec<String> = T::into_params(|| None).into_iter().map(|p| p.name).collect();
        let allowed: Vec<&str> = names.iter().map(String::as_str).collect();
        Params::new(raw, &allowed)
    }

    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|s| !s.is_empty())
    }

    pub(crate) fn parse<T>(
        &self,
        name: &str,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, ApiError> {
        match self.text(name) {
            None => Ok(None),
            Some(text) => parse(text).map(Some).ok_or_else(|| ApiError::bad(name, format!("expected {what}"))),
        }
    }

    pub(crate) fn limit(&self) -> Result<usize, ApiError> {
        Ok(self
            .parse("limit", "an integer from 1 to 1000", |t| {
                t.parse::<usize>().ok().filter(|n| (1..=1000).contains(n))
            })?
            .unwrap_or(100))
    }
}
