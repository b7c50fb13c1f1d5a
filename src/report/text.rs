//! Text from the other side made safe to show on a terminal.

/// Text as it may be shown on a terminal: control characters (C0, DEL, C1) and the Unicode
/// bidirectional overrides and isolates are written as `\u{..}` escapes (tab too), so a
/// message can neither move the cursor, recolour the terminal nor reorder what follows.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(printable("hi there ✓"), "hi there ✓");
        assert_eq!(printable("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(
            printable("bell\x07 tab\t nl\n"),
            "bell\\u{7} tab\\u{9} nl\\u{a}"
        );
        assert_eq!(printable("\u{202E}evil"), "\\u{202e}evil");
        assert_eq!(printable("c1\u{9b}"), "c1\\u{9b}");
    }
}
