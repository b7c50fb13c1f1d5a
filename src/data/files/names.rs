//! The name a received file is saved under.

/// The longest file name kept, in bytes.
const MAX_NAME: usize = 200;

/// The name a received file gets: the last component of what was offered (no directories,
/// either separator), control and invisible format characters (bidi overrides and isolates,
/// zero-width characters: [`crate::report::text::is_format`]) dropped, at most 200 bytes. `.`/`..`/empty are
/// refused.
pub fn sanitize(offered: &str) -> Result<String, String> {
    let last = offered
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control() && !crate::report::text::is_format(*c))
        .collect::<String>();
    let mut name = last.trim().to_string();
    if name.len() > MAX_NAME {
        let mut cut = MAX_NAME;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
    if name.is_empty() || name == "." || name == ".." {
        return Err(format!(
            "the offered name {:?} has no usable file name",
            crate::report::text::printable(offered)
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_directories_and_control_characters() {
        assert_eq!(sanitize("report.pdf").unwrap(), "report.pdf");
        assert_eq!(sanitize("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(sanitize("C:\\Users\\x\\a.txt").unwrap(), "a.txt");
        assert_eq!(sanitize("/abs/b").unwrap(), "b");
        assert_eq!(sanitize("evil\x1b[31m.txt").unwrap(), "evil[31m.txt");
        assert_eq!(sanitize("evil\u{202e}txt.exe").unwrap(), "eviltxt.exe");
        assert_eq!(sanitize("a\u{2066}b\u{2069}\u{200b}c").unwrap(), "abc");
        assert!(sanitize("\u{202e}").is_err());
        assert!(sanitize("..").is_err());
        assert!(sanitize("dir/").is_err());
        assert!(sanitize("").is_err());
        assert!(sanitize(" . ").is_err());
        let long = "é".repeat(150);
        let s = sanitize(&long).unwrap();
        assert!(s.len() <= MAX_NAME && s.chars().all(|c| c == 'é'));
    }
}
