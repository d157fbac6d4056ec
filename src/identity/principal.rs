//! What a principal is: exactly the string its identity source gave, never trimmed or
//! normalised into another. A string that could be mistaken for another principal on a screen
//! or in a log (control characters, invisible format characters, white space at either end,
//! only white space) is refused, not cleaned, so two different principals can never become one.

/// The longest principal accepted, in bytes (an e-mail address or an ARN fits easily).
pub const MAX_PRINCIPAL_BYTES: usize = 512;

/// Why a string is not a principal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrincipalError {
    #[error("the principal is empty or only white space")]
    Empty,
    #[error("the principal is longer than {MAX_PRINCIPAL_BYTES} bytes")]
    TooLong,
    #[error("the principal has a control character (U+{0:04X})")]
    Control(u32),
    #[error("the principal has an invisible format character (U+{0:04X})")]
    Format(u32),
    #[error("the principal starts or ends with white space (U+{0:04X})")]
    EdgeWhitespace(u32),
}

/// Check that `p` can name one caller unambiguously.
pub fn check(p: &str) -> Result<(), PrincipalError> {
    if p.chars().all(char::is_whitespace) {
        return Err(PrincipalError::Empty);
    }
    if p.len() > MAX_PRINCIPAL_BYTES {
        return Err(PrincipalError::TooLong);
    }
    if let Some(c) = p.chars().find(|c| c.is_control()) {
        return Err(PrincipalError::Control(c as u32));
    }
    if let Some(c) = p.chars().find(|c| crate::escape::is_format(*c)) {
        return Err(PrincipalError::Format(c as u32));
    }
    for c in [p.chars().next(), p.chars().next_back()]
        .into_iter()
        .flatten()
    {
        if c.is_whitespace() {
            return Err(PrincipalError::EdgeWhitespace(c as u32));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_that_look_like_alice_are_refused() {
        for p in [
            "alice\u{a0}",
            "\u{3000}alice",
            " alice\t",
            "alice ",
            "al\u{200b}ice",
            "\u{feff}alice",
            "alice\u{202e}",
            "ali\nce",
            "",
            "   ",
            "\u{3000}",
        ] {
            assert!(check(p).is_err(), "{p:?} was accepted");
        }
        assert_eq!(check(" alice"), Err(PrincipalError::EdgeWhitespace(0x20)));
        assert_eq!(check("al\u{200b}ice"), Err(PrincipalError::Format(0x200B)));
    }

    #[test]
    fn ordinary_principals_are_kept_exactly() {
        for p in [
            "alice",
            "alice smith",
            "alicé",
            "ops:alice",
            "arn:aws:iam::111122223333:user/alice",
            "alice@example.com",
            "山田",
        ] {
            assert_eq!(check(p), Ok(()), "{p:?}");
        }
        assert_eq!(check(&"a".repeat(513)), Err(PrincipalError::TooLong));
    }
}
