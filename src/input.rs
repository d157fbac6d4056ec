//! The files the server and CLI read (policies, policy tests, imports, AWS roles, tokens) are
//! bounded before they are parsed: at most [`MAX_BYTES`], nested at most [`MAX_DEPTH`] deep. A
//! hostile file is refused with the reason in well under a second, instead of costing minutes
//! of CPU (deep nesting) or gigabytes of memory (a huge list) in the YAML parser.

use std::io::Read;
use std::path::Path;

/// The largest file read: far above any real policy, roles or tokens file.
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;
/// The deepest nesting of mappings and sequences (real files nest under ten).
pub const MAX_DEPTH: usize = 64;

/// Why a file was refused before it was parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("{file}: cannot be read: {detail}")]
    Unreadable { file: String, detail: String },
    #[error("{file}: larger than {MAX_BYTES} bytes; refused unread")]
    TooLarge { file: String },
    #[error("{file}: nested deeper than {MAX_DEPTH} levels (line {line}); refused unparsed")]
    TooDeep { file: String, line: usize },
    #[error("{file}: not UTF-8 text")]
    NotText { file: String },
    /// Parsed, but not a file of the expected kind.
    #[error("{file}: not {expected}: {detail}")]
    Format {
        file: String,
        expected: &'static str,
        detail: String,
    },
    /// Of the expected kind, with a value the server cannot take.
    #[error("{file}: {place}: {problem}")]
    Invalid {
        file: String,
        place: String,
        problem: String,
    },
}

impl InputError {
    pub fn invalid(file: &str, place: impl Into<String>, problem: impl Into<String>) -> Self {
        InputError::Invalid {
            file: file.to_string(),
            place: place.into(),
            problem: problem.into(),
        }
    }
}

/// A file's text, refusing one larger than [`MAX_BYTES`] without reading more than that.
pub fn read(path: &Path) -> Result<String, InputError> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| InputError::Unreadable {
        file: source.clone(),
        detail: e.to_string(),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| InputError::Unreadable {
            file: source.clone(),
            detail: e.to_string(),
        })?;
    bounded_text(bytes, &source)
}

/// Bytes already read (a watched file, an environment variable) as bounded text.
pub fn bounded_text(bytes: Vec<u8>, source: &str) -> Result<String, InputError> {
    if bytes.len() as u64 > MAX_BYTES {
        return Err(InputError::TooLarge {
            file: source.to_string(),
        });
    }
    String::from_utf8(bytes).map_err(|_| InputError::NotText {
        file: source.to_string(),
    })
}

/// Check YAML (or JSON) text against [`MAX_BYTES`] and [`MAX_DEPTH`] before a parser sees it.
///
/// The depth is over-estimated, never under: block levels by indentation, plus the `- ` and
/// `? ` indicators that open nested collections on one line, plus flow brackets (`[`, `{`)
/// outside quoted strings and comments. Block scalars (`|`, `>`) are skipped.
pub fn check_yaml(text: &str, source: &str) -> Result<(), InputError> {
    if text.len() as u64 > MAX_BYTES {
        return Err(InputError::TooLarge {
            file: source.to_string(),
        });
    }
    let too_deep = |line: usize| InputError::TooDeep {
        file: source.to_string(),
        line,
    };
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    // Inside a block scalar: lines indented more than this column belong to it.
    let mut scalar_above: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        let content = line.trim_start_matches(' ');
        let col = line.len() - content.len();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if let Some(c) = scalar_above {
            if col > c {
                continue;
            }
            scalar_above = None;
        }
        if flow == 0 {
            while indents.last().is_some_and(|&top| top >= col) {
                indents.pop();
            }
            indents.push(col);
        }
        // `- - - x` and `? ` open a level each.
        let mut rest = content;
        let mut inline = 0usize;
        while let Some(r) = rest
            .strip_prefix("- ")
            .or_else(|| rest.strip_prefix("? "))
            .or_else(|| (rest == "-").then_some(""))
        {
            inline += 1;
            rest = r.trim_start_matches(' ');
        }
        let (line_flow_max, end_flow, ends_with_scalar) = scan(rest, flow);
        flow = end_flow;
        if indents.len() + inline + line_flow_max > MAX_DEPTH {
            return Err(too_deep(n + 1));
        }
        if ends_with_scalar && flow == 0 {
            scalar_above = Some(col);
        }
    }
    Ok(())
}

/// One line after its indicators: the deepest flow nesting reached, the flow depth at its end,
/// and whether it ends with a block scalar indicator (`|`, `>`, with modifiers).
fn scan(line: &str, mut flow: usize) -> (usize, usize, bool) {
    let mut max = flow;
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    let mut chars = line.chars().peekable();
    let mut last_token_start = 0usize;
    let mut pos = 0usize;
    while let Some(c) = chars.next() {
        match quote {
            Some('"') => {
                if c == '\\' {
                    chars.next();
                    pos += 1;
                } else if c == '"' {
                    quote = None;
                }
            }
            Some(_) => {
                if c == '\'' {
                    if chars.peek() == Some(&'\'') {
                        chars.next();
                        pos += 1;
                    } else {
                        quote = None;
                    }
                }
            }
            None => match c {
                '"' | '\''
                    if prev == ' ' || prev == '[' || prev == '{' || prev == ',' || pos == 0 =>
                {
                    quote = Some(c)
                }
                '#' if prev == ' ' || pos == 0 => break,
                '[' | '{' => {
                    flow += 1;
                    max = max.max(flow);
                }
                ']' | '}' => flow = flow.saturating_sub(1),
                ' ' => last_token_start = pos + 1,
                _ => {}
            },
        }
        prev = c;
        pos += c.len_utf8();
    }
    let last = line[last_token_start.min(line.len())..].trim_end();
    let scalar = quote.is_none()
        && (last.starts_with('|') || last.starts_with('>'))
        && last[1..]
            .chars()
            .all(|c| c == '-' || c == '+' || c.is_ascii_digit());
    (max, flow, scalar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_files_pass() {
        for (name, text) in [
            ("default", include_str!("../policies/default.yaml")),
            ("dev", include_str!("../policies/dev-permissive.yaml")),
            ("strict", include_str!("../policies/production-strict.yaml")),
            ("team", include_str!("../policies/team.yaml")),
            ("read-only", include_str!("../policies/read-only.yaml")),
            ("tests", include_str!("../policies/tests/default.yaml")),
            ("roles", include_str!("../examples/aws-roles.yaml")),
        ] {
            assert_eq!(check_yaml(text, name), Ok(()), "{name}");
        }
        let scalar = "a: |\n        deeply\n                  indented\n    text\nb: 1\n";
        assert_eq!(check_yaml(scalar, "s"), Ok(()));
        let quoted =
            "a: \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"\n";
        assert_eq!(check_yaml(quoted, "q"), Ok(()));
    }

    #[test]
    fn hostile_files_are_refused_at_once() {
        let start = std::time::Instant::now();
        let flow = format!("a: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(
            check_yaml(&flow, "f"),
            Err(InputError::TooDeep { line: 1, .. })
        ));
        let dashes = format!("{}x\n", "- ".repeat(100));
        assert!(matches!(
            check_yaml(&dashes, "d"),
            Err(InputError::TooDeep { .. })
        ));
        let mut block = String::new();
        for i in 0..100 {
            block.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
        }
        assert!(matches!(
            check_yaml(&block, "b"),
            Err(InputError::TooDeep { .. })
        ));
        let huge = "- x\n".repeat(2_000_000);
        assert!(matches!(
            check_yaml(&huge, "h"),
            Err(InputError::TooLarge { .. })
        ));
        // No timing assertion in tests; this only keeps the elapsed time visible.
        eprintln!("hostile inputs refused in {:?}", start.elapsed());
    }
}
