//! Text from the other side made safe to show on a terminal.

/// Text as it may be shown on a terminal: control characters (C0, DEL, C1) and the Unicode
/// bidirectional overrides and isolates are written as `\u{..}` escapes (tab too), so a
/// message can neither move the cursor, recolour the terminal nor reorder what follows.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || is_format(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Invisible format characters (Unicode category Cf) that change how the text around them is
/// shown: the bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), marks
/// (U+200E/F, U+061C), zero-width characters, the soft hyphen, the BOM, interlinear
/// annotation and tag characters. A name holding one can show as something it is not
/// (`evil\u{202e}txt.exe` reads "evilexe.txt").
pub fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{0600}'..='\u{0605}'
        | '\u{061C}'
        | '\u{06DD}'
        | '\u{070F}'
        | '\u{0890}'..='\u{0891}'
        | '\u{08E2}'
        | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{110BD}'
        | '\u{110CD}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}'
        | '\u{E0020}'..='\u{E007F}')
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
        assert_eq!(printable("a\u{2067}b\u{200f}c"), "a\\u{2067}b\\u{200f}c");
        assert_eq!(printable("\u{feff}x\u{ad}"), "\\u{feff}x\\u{ad}");
    }
}
