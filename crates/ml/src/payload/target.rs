//! The values in a request target (`/a/b?c=d`): path segments, query
//! names and values, still encoded as they arrived. One reading for the
//! web gatekeeper and for the access-log rules, so a URL is judged the
//! same whether it came through the proxy or from a log line.

use super::Context;

/// Where in the target a value was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part<'a> {
    /// The i-th non-empty path segment.
    Path(usize),
    QueryName,
    /// The value of the named (still encoded) query parameter.
    Query(&'a str),
}

/// Every non-empty value of `target`, with its part and how it decodes.
pub fn target_values(target: &str) -> impl Iterator<Item = (Part<'_>, &str, Context)> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    // A fragment never reaches a server, but a log line or a client may carry one.
    let query = query.split('#').next().unwrap_or_default();
    let segments =
        path.split('/').filter(|s| !s.is_empty()).enumerate().map(|(i, s)| (Part::Path(i), s, Context::Other));
    let pairs = query.split('&').filter(|p| !p.is_empty()).flat_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        [(Part::QueryName, name, Context::Form), (Part::Query(name), value, Context::Form)]
    });
    segments.chain(pairs).filter(|(_, raw, _)| !raw.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_names_and_values_come_out_encoded_as_sent() {
        let got: Vec<(Part<'_>, &str)> =
            target_values("/shop/item%201?id=1%27&q=red+shoes&flag").map(|(p, v, _)| (p, v)).collect();
        assert_eq!(
            got,
            [
                (Part::Path(0), "shop"),
                (Part::Path(1), "item%201"),
                (Part::QueryName, "id"),
                (Part::Query("id"), "1%27"),
                (Part::QueryName, "q"),
                (Part::Query("q"), "red+shoes"),
                (Part::QueryName, "flag"),
            ]
        );
    }
}
