//! Script added to a tag without writing one: a value reflected into a
//! quoted attribute that closes the quote and writes attributes of its own
//! (`x" onmouseover="alert(1)`, `' style=x:expression(alert(1)) '`,
//! `" src="javascript:alert(1)`) — the textbook reflected XSS, which has no
//! `<` for the tag shapes to find. Read strictly: right after the quote
//! must come attributes (`name`, `name=value`, `name="value"`), and one of
//! them must be a real DOM event with a value, a style that runs script,
//! or a script URL; prose with quotes in it (`5' 10" tall`, `"online=yes"`)
//! is not that.

use super::script::{script_url_at, styled_script};

/// Event-handler attributes browsers run (`on` + one of these), from the
/// HTML, SVG and DOM event lists: a name-shaped word after `on` is not
/// enough here, where no tag says the text is markup (`online=yes`).
#[rustfmt::skip]
const EVENTS: &[&str] = &[
    "abort", "activate", "afterprint", "animationend", "animationiteration", "animationstart", "auxclick",
    "beforecopy", "beforecut", "beforeinput", "beforepaste", "beforeprint", "beforeunload", "begin", "blur",
    "bounce", "canplay", "canplaythrough", "change", "click", "close", "contextmenu", "copy", "cuechange",
    "cut", "dblclick", "drag", "dragend", "dragenter", "dragleave", "dragover", "dragstart", "drop",
    "durationchange", "end", "ended", "error", "finish", "focus", "focusin", "focusout", "formdata",
    "fullscreenchange", "hashchange", "help", "input", "invalid", "keydown", "keypress", "keyup", "load",
    "loadeddata", "loadedmetadata", "loadend", "loadstart", "message", "mousedown", "mouseenter",
    "mouseleave", "mousemove", "mouseout", "mouseover", "mouseup", "mousewheel", "offline", "pagehide",
    "pageshow", "paste", "pause", "play", "playing", "pointerdown", "pointerenter", "pointerleave",
    "pointermove", "pointerout", "pointerover", "pointerup", "popstate", "progress", "propertychange",
    "ratechange", "readystatechange", "repeat", "reset", "resize", "scroll", "scrollend", "search", "seeked",
    "seeking", "select", "selectionchange", "selectstart", "show", "stalled", "start", "storage", "submit",
    "suspend", "timeupdate", "toggle", "touchend", "touchmove", "touchstart", "transitionend", "unload",
    "volumechange", "waiting", "wheel",
];

/// Attributes read after a quote: a breakout puts its handler among the first few.
const MAX_ATTRIBUTES: usize = 8;

/// Whether `text` (decoded) closes a quote and writes an attribute that runs script.
pub fn attribute_breakout(text: &[u8]) -> bool {
    // Linear in the text, so a hostile value full of quotes costs no more
    // than a plain one: each quote reads at most `MAX_ATTRIBUTES`, and a
    // value, quoted or not, ends at the next quote.
    text.iter().enumerate().filter(|(_, b)| matches!(b, b'"' | b'\'' | b'`')).any(|(at, _)| {
        Attributes { rest: &text[at + 1..] }.take(MAX_ATTRIBUTES).any(|(name, value)| runs_script(name, value))
    })
}

fn runs_script(name: &[u8], value: &[u8]) -> bool {
    match name {
        // A handler's value is script; one that starts with a space is prose quoting an attribute (`"onload=" is …`).
        [b'o', b'n', event @ ..] if EVENTS.binary_search_by(|e| e.as_bytes().cmp(event)).is_ok() => {
            value.first().is_some_and(|b| !b.is_ascii_whitespace())
        }
        b"style" => styled_script(value) || contains_url_of_script(value),
        _ => script_url_at(value),
    }
}

/// `url(javascript:…)` in a style.
fn contains_url_of_script(css: &[u8]) -> bool {
    css.windows(4).enumerate().filter(|(_, w)| w == b"url(").any(|(at, _)| script_url_at(&css[at + 4..]))
}

/// The attributes at the start of `rest`, as `(name, value)`, until
/// something that is not one: spaces and `/` may separate them, a name is
/// letters, digits, `-`, `_` and `:` starting with a letter, a value is
/// quoted or runs to the next space, quote or `>` (which ends the tag).
struct Attributes<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attributes<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.rest.iter().position(|b| !matches!(b, b' ' | b'/'))?;
        let rest = &self.rest[start..];
        if !rest[0].is_ascii_alphabetic() {
            return None;
        }
        let name_len = rest.iter().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':')).count();
        let (name, after) = rest.split_at(name_len);
        let spaces = after.iter().take_while(|b| **b == b' ').count();
        let Some(after_equals) = after[spaces..].strip_prefix(b"=") else {
            // A name alone (`autofocus`) is an attribute when a space or the end follows it; anything else is not markup.
            if spaces == 0 && !after.is_empty() {
                return None;
            }
            self.rest = &after[spaces..];
            return Some((name, &[]));
        };
        let value_at = after_equals.iter().take_while(|b| **b == b' ').count();
        let value_text = &after_equals[value_at..];
        let (value, used) = match value_text.first() {
            Some(&quote @ (b'"' | b'\'' | b'`')) => {
                let inner = &value_text[1..];
                let len = inner.iter().position(|b| *b == quote).unwrap_or(inner.len());
                (&inner[..len], (1 + len + 1).min(value_text.len()))
            }
            _ => {
                // An unquoted value ends at a space, a quote or the tag's end, as HTML reads it.
                let len = value_text
                    .iter()
                    .position(|b| matches!(b, b' ' | b'"' | b'\'' | b'`' | b'>'))
                    .unwrap_or(value_text.len());
                (&value_text[..len], len)
            }
        };
        self.rest = &value_text[used..];
        Some((name, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Context, decode};

    fn breaks_out(raw: &str) -> bool {
        attribute_breakout(decode(raw, Context::Form).text.as_bytes())
    }

    #[test]
    fn the_event_list_is_sorted_for_its_binary_search() {
        assert!(EVENTS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_closed_attribute_followed_by_script_breaks_out() {
        for attack in [
            "x\" onmouseover=\"alert(1)",
            "\"onfocus=alert(1) autofocus=\"",
            "' onclick='go()' x='",
            "\" type=image src=null onerror=steal() \"",
            "\"/onload=x()//",
            "' style=x:expression(alert(1)) '",
            "\" style=\"background:url(javascript:alert(1))",
            "\" src=\"javascript:alert(1)",
            "x%22%20onmouseover%3D%22alert(1)",
            "a&quot; onerror=&quot;alert(1)",
        ] {
            assert!(breaks_out(attack), "{attack}");
        }
    }

    #[test]
    fn prose_with_quotes_does_not() {
        for text in [
            "5' 10\" tall",
            "\"online=yes\"",
            "He said \"onload=\" is an attribute",
            "Joe's onion=5 recipe",
            "title=\"x\" class=\"y\"",
            "it's \"stylish\" style=bold",
            "\"customer behavior: good\"",
            "the 'regular expression(s)' chapter",
            "\"javascript: the good parts\" book",
            "O'Reilly \"onboarding = tomorrow\"",
            "'on' = true",
            "\"onload\" event",
            "a \"b\" onload",
            "\" onclick = ",
            "'\"/ /=",
        ] {
            assert!(!breaks_out(text), "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_read_without_panicking(text in "[\"' =a-z/:()>onl]{0,40}") {
            attribute_breakout(text.as_bytes());
        }
    }
}
