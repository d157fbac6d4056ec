//! Text a caller chose (a principal, a tool name, a policy's reason) shown to an operator in a
//! medium that would otherwise read it as markup or commands: Slack's mrkdwn (links, mentions)
//! and a terminal (escape sequences, line breaks that forge rows). JSON needs nothing: a JSON
//! encoder already escapes what it must.

/// A character shown as its escape (`\n`, `\u{1b}`): control characters and the invisible
/// format characters that reorder or hide text.
fn shown_escaped(c: char) -> bool {
    c.is_control() || is_format(c)
}

/// Unicode's format characters (general category Cf) that render as nothing: zero-width
/// spaces and joiners, bidirectional controls, the byte-order mark, soft hyphen, and the tag
/// and interlinear-annotation characters.
pub fn is_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2
        | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => out.extend(c.escape_unicode()),
    }
}

/// For a terminal: control and format characters appear as escapes, never act.
pub fn terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if shown_escaped(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// For Slack's mrkdwn `text`: `&`, `<` and `>` as entities (so no link, mention such as
/// `<!channel>`, or user reference can be written), backticks as quotes (so no code span can be
/// closed early), and control and format characters as escapes (so no line can be forged).
pub fn slack(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => out.push('\''),
            c if shown_escaped(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_text_cannot_mention_link_or_break_lines() {
        assert_eq!(
            slack("<!channel> <https://evil.example/approve|Approve>\nok & `x`"),
            "&lt;!channel&gt; &lt;https://evil.example/approve|Approve&gt;\\nok &amp; 'x'"
        );
        assert_eq!(slack("alicé"), "alicé");
    }

    #[test]
    fn terminal_text_cannot_move_the_cursor_or_forge_rows() {
        assert_eq!(
            terminal("bob\u{1b}[2K\rap-1  approved\nx\u{202e}"),
            "bob\\u{1b}[2K\\rap-1  approved\\nx\\u{202e}"
        );
        assert_eq!(terminal("山田 <ok>"), "山田 <ok>");
    }
}
