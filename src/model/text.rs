//! The model's one text gate: [`Text`], what every text field of the
//! schema is, and the rule every output is held to.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Text from a log or from the running machine, as the model holds it.
///
/// This is the model's one sanitizing gate: every name, path, host, unit and
/// message in an [`Episode`](crate::model::Episode) (and in what it contains) is a `Text`, and a
/// `Text` can only be made through [`Text::new`] (also behind `From` and
/// deserialisation), after every decoding step of the input (kmsg `\xNN`,
/// rsyslog `#011`, JSON `\u001b`, invalid UTF-8). It writes C0 controls,
/// DEL, C1 controls and the Unicode characters that reorder text on screen
/// (bidirectional embeddings, overrides and isolates) as the kernel's own
/// `\xNN` escapes of their UTF-8 bytes, so no output format can carry one
/// raw, whatever bytes a process name or cgroup path held.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    /// Sanitize `s` (see the type's documentation).
    pub fn new(s: &str) -> Text {
        if s.bytes().all(|b| (0x20..0x7f).contains(&b)) || !s.chars().any(unsafe_char) {
            return Text(s.to_owned());
        }
        Text(escape(s))
    }

    /// The sanitized text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The first character of `text` that no output may carry raw (a C0
/// control other than newline, and tab unless `tab_ok`; DEL; a C1 control;
/// a bidirectional formatting character), with its byte offset. The tests
/// and the fuzz target hold every output format to this.
pub fn first_unsafe_char(text: &str, tab_ok: bool) -> Option<(usize, char)> {
    text.char_indices()
        .find(|&(_, c)| c != '\n' && !(tab_ok && c == '\t') && unsafe_char(c))
}

/// True for a character that must not reach a terminal or viewer raw.
fn unsafe_char(c: char) -> bool {
    c.is_control() // C0, DEL and C1 (U+0000–U+001F, U+007F–U+009F)
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escape(s: &str) -> String {
    use fmt::Write;
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{b:02x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::new(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Text(s);
        }
        Text::new(&s)
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Text {
        Text::new(s)
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

/// Recordings, snapshots and oom-guard events are input too: what they
/// hold passes the same gate.
impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        String::deserialize(d).map(Text::from)
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.0
    }
}

impl From<Text> for serde_json::Value {
    fn from(t: Text) -> serde_json::Value {
        serde_json::Value::String(t.0)
    }
}
