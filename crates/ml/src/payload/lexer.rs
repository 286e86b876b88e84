//! Token classes of a decoded value, across the languages an injection
//! speaks: SQL, HTML, JavaScript, shell and file paths. The idea is
//! libinjection's (a value is judged by the shape of its tokens, `s&1=1c`
//! for `' or 1=1 --`, not by its words); the lexer is ours and covers more
//! than SQL, because one value can be any of them.
//!
//! Each class is one byte, so a value's shape is a short string
//! (`Lexed::fingerprint`) and its counts a small vector. The lexer runs in
//! one pass over at most `MAX_TOKENS` tokens and allocates only its output.

/// Tokens looked at per value; a longer value's tail is not lexed.
pub const MAX_TOKENS: usize = 256;

/// Token classes. The byte is the class's letter in fingerprints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Token {
    /// A quoted string, or the text before a quote that closes one the value opened inside.
    Str = b's',
    Number = b'1',
    /// SQL keyword: `select`, `from`, `where`, `insert`, `drop`, `waitfor`…
    Keyword = b'k',
    Union = b'U',
    /// A SQL or JavaScript function name followed by `(`: `sleep(`, `alert(`…
    Function = b'f',
    /// `and`, `or`, `xor`, `not`, `&&`, `||`.
    Logic = b'&',
    Operator = b'o',
    /// `--`, `#` (to the end) or what is left of a comment.
    Comment = b'c',
    Word = b'n',
    Open = b'(',
    Close = b')',
    Comma = b',',
    Semicolon = b';',
    /// `@name`, `@@version`.
    Variable = b'v',
    /// `<name`: an HTML tag opening.
    Tag = b't',
    /// `on…=`: an event-handler attribute.
    Handler = b'h',
    /// `javascript:`, `vbscript:`, `data:text/html`.
    Scheme = b'j',
    /// `../` or `..\`.
    Traversal = b'p',
    /// A path an attacker reads: `/etc/passwd`, `win.ini`, `/proc/self`…
    SensitivePath = b'P',
    /// A shell command word after a separator: `;id`, `|sleep`, `` `whoami` ``, `$(cat`.
    Command = b'x',
    /// `<` `>` `/` `=` `"` and other markup punctuation outside SQL sense.
    Markup = b'm',
}

impl Token {
    pub fn letter(self) -> char {
        self as u8 as char
    }
}

/// A value's tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lexed {
    pub tokens: Vec<Token>,
}

impl Lexed {
    /// The first `n` token letters, e.g. `s&1o1c`.
    pub fn fingerprint(&self, n: usize) -> String {
        self.tokens.iter().take(n).map(|t| t.letter()).collect()
    }
}

const KEYWORDS: &[&str] = &[
    "select",
    "from",
    "where",
    "insert",
    "into",
    "update",
    "delete",
    "drop",
    "table",
    "values",
    "having",
    "group",
    "order",
    "by",
    "limit",
    "offset",
    "exec",
    "execute",
    "declare",
    "cast",
    "convert",
    "case",
    "when",
    "then",
    "else",
    "end",
    "waitfor",
    "delay",
    "like",
    "between",
    "null",
    "is",
    "in",
    "exists",
    "alter",
    "create",
    "truncate",
    "procedure",
    "information_schema",
    "sysobjects",
    "shutdown",
    "outfile",
    "dumpfile",
    "load",
    "into",
    "rlike",
    "regexp",
    "collate",
    "returns",
    "begin",
];
const LOGIC: &[&str] = &["and", "or", "xor", "not", "div", "mod"];
const FUNCTIONS: &[&str] = &[
    "sleep",
    "benchmark",
    "pg_sleep",
    "char",
    "chr",
    "concat",
    "concat_ws",
    "substring",
    "substr",
    "mid",
    "ascii",
    "ord",
    "hex",
    "unhex",
    "load_file",
    "version",
    "database",
    "user",
    "current_user",
    "extractvalue",
    "updatexml",
    "if",
    "ifnull",
    "count",
    "group_concat",
    "md5",
    "sha1",
    "length",
    "cast",
    "convert",
    "randomblob",
    "dbms_pipe.receive_message",
    "xp_cmdshell",
    "alert",
    "prompt",
    "confirm",
    "eval",
    "settimeout",
    "setinterval",
    "fromcharcode",
    "atob",
    "fetch",
    "import",
    "function",
    "constructor",
    "exit",
    "die",
    "system",
    "passthru",
    "shell_exec",
    "phpinfo",
    "print",
    "echo",
];
const COMMANDS: &[&str] = &[
    "id",
    "whoami",
    "uname",
    "cat",
    "ls",
    "dir",
    "sleep",
    "ping",
    "wget",
    "curl",
    "nc",
    "ncat",
    "netcat",
    "bash",
    "sh",
    "zsh",
    "env",
    "set",
    "echo",
    "printf",
    "type",
    "nslookup",
    "dig",
    "ifconfig",
    "ipconfig",
    "powershell",
    "cmd",
    "perl",
    "python",
    "python3",
    "php",
    "ruby",
    "rm",
    "chmod",
    "chown",
    "kill",
    "reboot",
    "exit",
    "sysinfo",
    "net",
    "hostname",
    "expr",
    "timeout",
    "busybox",
    "telnet",
];
const SENSITIVE: &[&str] = &[
    "etc/passwd",
    "etc/shadow",
    "etc/hosts",
    "etc/group",
    "win.ini",
    "boot.ini",
    "system.ini",
    "proc/self",
    "windows/system32",
    ".htaccess",
    ".htpasswd",
    ".git/",
    ".env",
    "web.config",
    "wp-config",
    "id_rsa",
    ".ssh/",
    "/bin/sh",
    "/bin/bash",
    "cmd.exe",
];
const SCHEMES: &[&str] = &["javascript:", "vbscript:", "data:text/html", "livescript:"];

/// Which bytes start an entry of `list`: most positions of a value start
/// none, and a table lookup is cheaper than trying each entry there.
const fn first_bytes(list: &[&str]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < list.len() {
        let bytes = list[i].as_bytes();
        if !bytes.is_empty() {
            table[bytes[0] as usize] = true;
        }
        i += 1;
    }
    table
}

const SCHEME_FIRST: [bool; 256] = first_bytes(SCHEMES);
const SENSITIVE_FIRST: [bool; 256] = first_bytes(SENSITIVE);

/// The length of the entry of `list` that `rest` starts with, if any
/// (`first` is `first_bytes(list)`).
fn listed_prefix(rest: &str, list: &[&str], first: &[bool; 256]) -> Option<usize> {
    let b = *rest.as_bytes().first()?;
    if !first[usize::from(b)] {
        return None;
    }
    list.iter().find(|s| rest.starts_with(**s)).map(|s| s.len())
}

fn is_word_byte(b: u8) -> bool {
    // A table: every byte of every word of every value asks.
    const WORD_BYTES: [bool; 256] = byte_table!(|byte| byte.is_ascii_alphanumeric()
        || byte == b'_'
        || byte == b'.'
        || byte == b'$'
        || byte >= 0x80);
    WORD_BYTES[usize::from(b)]
}

/// Lexes a decoded (lowercase, folded) value.
pub fn lex(text: &str) -> Lexed {
    // A value often starts inside a string the application opened:
    // `x' or 1=1 --` is `s&1o1c` once the text before the quote counts as one.
    lex_from(text, opening_string(text.as_bytes()).unwrap_or(0))
}

/// Lexes a value as if the application had put it inside quotes: the text
/// up to its first quote is the end of that string. `1' or '1'='1` is
/// `1s1s1` read as it stands and `s&sos` read this way, the way the
/// database reads it (libinjection lexes in the three contexts for the
/// same reason). `None` when the value has no quote.
pub fn lex_quoted(text: &str) -> Option<Lexed> {
    let first = text.as_bytes().iter().position(|b| matches!(b, b'\'' | b'"'))?;
    Some(lex_from(text, first + 1))
}

/// A value lexed as it stands and as if inside quotes (`lex_quoted`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lexes {
    pub plain: Lexed,
    pub quoted: Option<Lexed>,
}

impl Lexes {
    pub fn of(text: &str) -> Lexes {
        Lexes { plain: lex(text), quoted: lex_quoted(text) }
    }

    /// Every token of both readings.
    pub fn tokens(&self) -> impl Iterator<Item = &Token> {
        self.plain.tokens.iter().chain(self.quoted.iter().flat_map(|q| q.tokens.iter()))
    }
}

/// Lexes `text[start..]`, a string token standing for what is before `start`.
fn lex_from(text: &str, start: usize) -> Lexed {
    let bytes = text.as_bytes();
    let mut tokens = Vec::with_capacity(16);
    let mut i = start;
    if i > 0 {
        tokens.push(Token::Str);
    }
    // After a shell separator, the next word is a command if it is one.
    let mut after_separator = i == 0;
    while i < bytes.len() && tokens.len() < MAX_TOKENS {
        let b = bytes[i];
        let rest = &text[i..];
        if b == b' ' {
            i += 1;
            continue;
        }
        if let Some(len) = listed_prefix(rest, SCHEMES, &SCHEME_FIRST) {
            tokens.push(Token::Scheme);
            i += len;
            continue;
        }
        if let Some(len) = listed_prefix(rest, SENSITIVE, &SENSITIVE_FIRST) {
            tokens.push(Token::SensitivePath);
            i += len;
            continue;
        }
        if rest.starts_with("../") || rest.starts_with("..\\") {
            tokens.push(Token::Traversal);
            i += 3;
            continue;
        }
        match b {
            b'\'' | b'"' | b'`' => {
                // A backtick opens a shell substitution when a command follows.
                if b == b'`' && starts_command(&text[i + 1..]) {
                    tokens.push(Token::Command);
                    i += 1 + word_len(&bytes[i + 1..]);
                    after_separator = false;
                    continue;
                }
                let end = bytes[i + 1..].iter().position(|&c| c == b).map_or(bytes.len(), |p| i + 1 + p + 1);
                tokens.push(Token::Str);
                i = end;
            }
            b'0'..=b'9' => {
                tokens.push(Token::Number);
                i += bytes[i..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'.').count();
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                tokens.push(Token::Comment);
                i = bytes.len();
            }
            b'#' => {
                tokens.push(Token::Comment);
                i = bytes.len();
            }
            b'(' => push(&mut tokens, Token::Open, &mut i, 1),
            b')' => push(&mut tokens, Token::Close, &mut i, 1),
            b',' => push(&mut tokens, Token::Comma, &mut i, 1),
            b';' | b'|' | b'&' | b'\n' => {
                let double = bytes.get(i + 1) == Some(&b);
                let token = match (b, double) {
                    (b'|' | b'&', true) => Token::Logic,
                    (b';', _) => Token::Semicolon,
                    _ => Token::Operator,
                };
                push(&mut tokens, token, &mut i, if double { 2 } else { 1 });
                after_separator = true;
                continue;
            }
            b'$' if bytes.get(i + 1) == Some(&b'(') => {
                push(&mut tokens, Token::Open, &mut i, 2);
                after_separator = true;
                continue;
            }
            b'@' => {
                tokens.push(Token::Variable);
                i += 1 + bytes[i + 1..].iter().take_while(|c| **c == b'@' || is_word_byte(**c)).count();
            }
            b'<' if bytes.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'/' || *c == b'!') => {
                // `<`, an optional `/` or `!`, the name: `<svg/onload=` leaves `/onload=` to lex.
                tokens.push(Token::Tag);
                let mark = usize::from(matches!(bytes[i + 1], b'/' | b'!'));
                i += 1 + mark + bytes[i + 1 + mark..].iter().take_while(|c| c.is_ascii_alphanumeric()).count();
            }
            b'=' | b'<' | b'>' | b'!' | b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'~' | b':' => {
                let len = if matches!(&rest.as_bytes()[..rest.len().min(2)], b"<=" | b">=" | b"<>" | b"!=" | b":=") {
                    2
                } else {
                    1
                };
                push(&mut tokens, Token::Operator, &mut i, len);
            }
            _ if is_word_byte(b) => {
                let len = word_len(&bytes[i..]);
                let word = &text[i..i + len];
                let next = bytes[i + len..].iter().find(|c| **c != b' ').copied();
                tokens.push(classify(word, next, after_separator));
                i += len;
            }
            _ => push(&mut tokens, Token::Markup, &mut i, rest.chars().next().map_or(1, char::len_utf8)),
        }
        after_separator = false;
    }
    Lexed { tokens }
}

fn push(tokens: &mut Vec<Token>, token: Token, i: &mut usize, len: usize) {
    tokens.push(token);
    *i += len;
}

fn word_len(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|c| is_word_byte(**c)).count()
}

/// Which of the word lists a word is on, a bit each.
const KEYWORD: u8 = 1;
const LOGICAL: u8 = 2;
const FUNCTION: u8 = 4;
const COMMAND: u8 = 8;

/// The lists `word` is on: one hash lookup instead of a scan of each list
/// (every word of every value is looked up; the lists hold ~170 words).
fn lists_of(word: &str) -> u8 {
    type Table = std::collections::HashMap<&'static str, u8, foldhash::fast::FixedState>;
    static TABLE: std::sync::LazyLock<Table> = std::sync::LazyLock::new(|| {
        let mut table = Table::default();
        for (list, bit) in [(KEYWORDS, KEYWORD), (LOGIC, LOGICAL), (FUNCTIONS, FUNCTION), (COMMANDS, COMMAND)] {
            for word in list {
                *table.entry(*word).or_insert(0) |= bit;
            }
        }
        table
    });
    TABLE.get(word).copied().unwrap_or(0)
}

fn starts_command(text: &str) -> bool {
    let len = word_len(text.as_bytes());
    lists_of(&text[..len]) & COMMAND != 0
}

/// A word's class, given the next non-space byte after it.
fn classify(word: &str, next: Option<u8>, after_separator: bool) -> Token {
    let lists = lists_of(word);
    if after_separator && lists & COMMAND != 0 && next != Some(b'=') {
        return Token::Command;
    }
    if word.starts_with("on") && word.len() > 3 && next == Some(b'=') {
        return Token::Handler;
    }
    if next == Some(b'(') && (lists & FUNCTION != 0 || word.ends_with(".fromcharcode")) {
        return Token::Function;
    }
    if word == "union" {
        return Token::Union;
    }
    if lists & LOGICAL != 0 {
        return Token::Logic;
    }
    if lists & KEYWORD != 0 {
        return Token::Keyword;
    }
    Token::Word
}

/// When the value closes a string it did not open (`abc' or …`), where the
/// text after that quote starts.
fn opening_string(bytes: &[u8]) -> Option<usize> {
    let first = bytes.iter().position(|b| matches!(b, b'\'' | b'"'))?;
    let quote = bytes[first];
    // Balanced quotes after it mean it opens a string, not closes one.
    let after = bytes[first + 1..].iter().filter(|b| **b == quote).count();
    (after % 2 == 0 && first > 0 && bytes[..first].iter().all(|b| is_word_byte(*b) || *b == b' ')).then_some(first + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> String {
        lex(text).fingerprint(12)
    }

    #[test]
    fn word_bytes_are_letters_digits_and_name_punctuation() {
        for b in 0..=255u8 {
            let word = b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'$') || b >= 0x80;
            assert_eq!(is_word_byte(b), word, "byte {b}");
        }
    }

    #[test]
    fn a_value_read_inside_quotes_shows_the_injection_the_database_sees() {
        assert_eq!(shape("1' or '1'='1"), "1s1s1");
        assert_eq!(lex_quoted("1' or '1'='1").unwrap().fingerprint(12), "s&sos");
        assert_eq!(lex_quoted("john smith"), None);
    }

    #[test]
    fn sql_injections_have_their_shapes() {
        assert_eq!(shape("1' or 1=1 --"), "s&1o1c");
        assert_eq!(shape("1 union select username, password from users"), "1Ukn,nkn");
        assert_eq!(shape("1 and sleep(5)"), "1&f(1)");
        assert_eq!(shape("admin'--"), "sc");
        assert_eq!(shape("@@version"), "v");
        assert_eq!(shape("1;drop table users"), "1;kkn");
    }

    #[test]
    fn markup_scripts_paths_and_commands_have_theirs() {
        assert_eq!(shape("<img src=x onerror=alert(1)>"), "tnonhof(1)o");
        assert_eq!(shape("<svg/onload=alert(1)>"), "tohof(1)o");
        assert_eq!(shape("javascript:alert(document.cookie)"), "jf(n)");
        assert_eq!(shape("../../../../etc/passwd"), "ppppP");
        assert_eq!(shape("a;id;"), "n;x;");
        assert_eq!(shape("|sleep 60;"), "ox1;");
        assert_eq!(shape("a`sleep 60`"), "nx1s");
        assert_eq!(shape("$(cat /etc/passwd)"), "(xoP)");
    }

    #[test]
    fn ordinary_values_look_ordinary() {
        assert_eq!(shape("john smith"), "nn");
        assert_eq!(shape("42"), "1");
        // The quote closes a string the application opened: that is what an
        // unescaped o'brien does to a query, so it is lexed that way.
        assert_eq!(shape("o'brien"), "sn");
        assert_eq!(shape("rock & roll"), "non");
    }

    proptest::proptest! {
        #[test]
        fn lexing_never_panics_and_is_bounded(text in "\\PC{0,400}") {
            let lexed = lex(&text);
            proptest::prop_assert!(lexed.tokens.len() <= MAX_TOKENS);
        }
    }
}
